// A project's tasks, kept live: loaded once, then changed by the project's event stream
// (`taskEvents`) from the cursor read before the load, resumed after a reconnect from the
// last cursor seen.
import type { Client, CombinedError, OperationResult } from "urql";

import type {
  BoardEventsSubscription,
  BoardTasksQuery,
  TaskFieldsFragment,
  TaskStatus,
} from "./gql/graphql";
import { BoardCursor, BoardEvents, BoardTasks, CreateTask, DeleteTask, MoveTask, RenameTask } from "./operations";

export type Task = TaskFieldsFragment;
type BoardEvent = BoardEventsSubscription["taskEvents"];
type Actor = { id: string; name: string | null };

export const STATUSES: TaskStatus[] = ["PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED"];

export interface Member {
  id: string;
  name: string | null;
  role: string;
}

export interface Notice {
  id: number;
  text: string;
  kind: "change" | "error";
}

export interface BoardSnapshot {
  name: string | null;
  members: Member[];
  tasks: Task[];
  loading: boolean;
  error: string | null;
  notices: Notice[];
}

const NOTICE_MS = 10_000;
const MAX_NOTICES = 5;

export function errorCode(error: CombinedError): string | undefined {
  const code = error.graphQLErrors[0]?.extensions?.code;
  return typeof code === "string" ? code : undefined;
}

export function errorText(error: CombinedError): string {
  return error.graphQLErrors[0]?.message ?? error.networkError?.message ?? error.message;
}

export class BoardFeed {
  private readonly tasks = new Map<string, Task>();
  /** Deleted tasks: a load that read them before the delete must not bring them back. */
  private readonly gone = new Set<string>();
  /** Tasks some event touched since the current load began. */
  private touched = new Set<string>();
  private lastCursor: string | null = null;
  private events: { unsubscribe(): void } | null = null;
  private snapshot: BoardSnapshot = {
    name: null,
    members: [],
    tasks: [],
    loading: true,
    error: null,
    notices: [],
  };
  private readonly listeners = new Set<() => void>();
  private noticeIds = 0;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly projectId: string,
    private readonly meId: string,
  ) {}

  /** Read the project's last cursor, load, then follow the room from that cursor: a change
   * made during the load is replayed, not lost (and an older copy never wins: see merge). */
  start(): void {
    void this.begin();
  }

  private async begin(): Promise<void> {
    const result = await this.client
      .query(BoardCursor, { projectId: this.projectId }, { requestPolicy: "network-only" })
      .toPromise();
    const cursor = result.data?.project?.lastEventCursor ?? null;
    await this.load();
    if (this.stopped || (cursor === null && this.snapshot.error)) return;
    this.lastCursor = cursor;
    this.follow(cursor);
  }

  stop(): void {
    this.stopped = true;
    this.events?.unsubscribe();
  }

  /** After a reconnect: replay from the last cursor, or start afresh without one. */
  resume(): void {
    if (this.stopped) return;
    if (this.lastCursor !== null) {
      this.follow(this.lastCursor);
    } else {
      this.events?.unsubscribe();
      void this.begin();
    }
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): BoardSnapshot => this.snapshot;

  async create(title: string): Promise<void> {
    const result = await this.client
      .mutation(CreateTask, { input: { projectId: this.projectId, title } })
      .toPromise();
    if (result.error) return this.notify(errorText(result.error), "error");
    if (result.data) this.merge(result.data.createTask);
    this.publish();
  }

  async move(task: Task, status: TaskStatus): Promise<void> {
    const result = await this.client
      .mutation(MoveTask, { id: task.id, status, expectedVersion: task.version })
      .toPromise();
    this.afterChange(task, result.error, result.data?.updateTaskStatus);
  }

  async rename(task: Task, title: string): Promise<void> {
    const result = await this.client
      .mutation(RenameTask, { id: task.id, title, expectedVersion: task.version })
      .toPromise();
    this.afterChange(task, result.error, result.data?.updateTask);
  }

  async remove(task: Task): Promise<void> {
    const result = await this.client.mutation(DeleteTask, { id: task.id }).toPromise();
    if (result.error) return this.notify(errorText(result.error), "error");
    this.forget(task.id);
    this.publish();
  }

  private afterChange(task: Task, error: CombinedError | undefined, changed?: Task): void {
    if (error && errorCode(error) === "CONFLICT") {
      // The event of the other change is on its way (or here): the card shows it.
      return this.notify(`'${task.title}' was changed by someone else meanwhile`, "error");
    }
    if (error) return this.notify(errorText(error), "error");
    if (changed) this.merge(changed);
    this.publish();
  }

  private follow(after: string | null): void {
    this.events?.unsubscribe();
    let active = true;
    const subscription = this.client
      .subscription(BoardEvents, { projectId: this.projectId, after })
      .subscribe((result) => {
        if (!active) return;
        if (result.error && errorCode(result.error) === "CURSOR_EXPIRED") {
          this.notify("Away too long to catch up: the board was reloaded", "change");
          this.lastCursor = null;
          this.resume();
        } else if (result.error) {
          this.notify(errorText(result.error), "error");
        } else if (result.data) {
          this.apply(result.data.taskEvents);
        }
      });
    this.events = {
      unsubscribe: () => {
        active = false;
        subscription.unsubscribe();
      },
    };
  }

  private async load(): Promise<void> {
    this.touched = new Set();
    this.snapshot = { ...this.snapshot, loading: true, error: null };
    this.emit();
    const seen = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const result: OperationResult<BoardTasksQuery> = await this.client
        .query(BoardTasks, { projectId: this.projectId, after }, { requestPolicy: "network-only" })
        .toPromise();
      if (this.stopped) return;
      const project = result.data?.project;
      if (!project) {
        const error = result.error ? errorText(result.error) : "no such project";
        this.snapshot = { ...this.snapshot, loading: false, error };
        return this.emit();
      }
      for (const { node } of project.tasks.edges) {
        seen.add(node.id);
        this.merge(node);
      }
      const members = project.members.map((m) => ({ ...m.user, role: m.role }));
      this.snapshot = { ...this.snapshot, name: project.name, members };
      if (!project.tasks.pageInfo.hasNextPage) break;
      after = project.tasks.pageInfo.endCursor ?? null;
    }
    // A reload after time away: what is neither in the project now nor new since is gone.
    for (const id of this.tasks.keys()) {
      if (!seen.has(id) && !this.touched.has(id)) this.tasks.delete(id);
    }
    this.snapshot = { ...this.snapshot, loading: false };
    this.publish();
  }

  private apply(event: BoardEvent): void {
    this.lastCursor = event.cursor;
    this.touched.add(event.taskId);
    switch (event.__typename) {
      case "TaskCreatedEvent":
        this.merge(event.task);
        this.notify(`${this.who(event.createdBy)} created '${event.task.title}'`, "change");
        break;
      case "TaskUpdatedEvent": {
        const before = this.tasks.get(event.taskId);
        this.merge(event.task);
        this.notify(this.describeUpdate(event.updatedBy, event.changedFields, event.task, before), "change");
        break;
      }
      case "TaskDeletedEvent": {
        const title = event.deletedTask?.title ?? this.tasks.get(event.taskId)?.title ?? "a task";
        this.forget(event.taskId);
        this.notify(`${this.who(event.deletedBy)} deleted '${title}'`, "change");
        break;
      }
    }
    this.publish();
  }

  private describeUpdate(by: Actor, fields: string[], task: Task, before?: Task): string {
    const who = this.who(by);
    if (fields.includes("status")) return `${who} moved '${task.title}' to ${task.status}`;
    if (fields.includes("title")) {
      const from = before && before.title !== task.title ? `'${before.title}'` : "a task";
      return `${who} renamed ${from} to '${task.title}'`;
    }
    return `${who} edited '${task.title}'`;
  }

  private who(actor: Actor): string {
    return actor.id === this.meId ? "You" : (actor.name ?? actor.id);
  }

  /** Keep the newest copy of a task: each change adds 1 to its version. */
  private merge(task: Task): void {
    if (this.gone.has(task.id)) return;
    const known = this.tasks.get(task.id);
    if (!known || task.version > known.version) this.tasks.set(task.id, task);
  }

  private forget(id: string): void {
    this.tasks.delete(id);
    this.gone.add(id);
  }

  private notify(text: string, kind: Notice["kind"]): void {
    const notice = { id: ++this.noticeIds, text, kind };
    this.snapshot = {
      ...this.snapshot,
      notices: [notice, ...this.snapshot.notices].slice(0, MAX_NOTICES),
    };
    this.emit();
    setTimeout(() => {
      this.snapshot = {
        ...this.snapshot,
        notices: this.snapshot.notices.filter((n) => n.id !== notice.id),
      };
      this.emit();
    }, NOTICE_MS);
  }

  private publish(): void {
    const tasks = [...this.tasks.values()].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
    this.snapshot = { ...this.snapshot, tasks };
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
