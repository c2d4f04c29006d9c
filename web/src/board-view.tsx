// The board: columns by status, cards, the new-task form, notices and presence.
import { useEffect, useMemo, useState, useSyncExternalStore, type FormEvent } from "react";
import { useSubscription } from "urql";

import { BoardFeed, STATUSES, type Notice, type Task } from "./board";
import type { TaskStatus } from "./gql/graphql";
import type { Link } from "./link";
import { BoardViewers, FollowTask, TaskViewers } from "./operations";
import { Avatars } from "./people";

const LABELS: Record<TaskStatus, string> = {
  PENDING: "Pending",
  IN_PROGRESS: "In progress",
  COMPLETED: "Completed",
  CANCELLED: "Cancelled",
};

function useBoardFeed(link: Link, projectId: string, meId: string): BoardFeed {
  const feed = useMemo(() => new BoardFeed(link.client, projectId, meId), [link, projectId, meId]);
  useEffect(() => {
    feed.start();
    const off = link.onReconnected(() => feed.resume());
    return () => {
      off();
      feed.stop();
    };
  }, [feed, link]);
  return feed;
}

export function BoardViewersBar({ projectId }: { projectId: string }) {
  const [{ data }] = useSubscription({ query: BoardViewers, variables: { projectId } });
  return <Avatars people={data?.viewersChanged.viewers ?? []} label="On this board" />;
}

export function Board({ link, projectId, meId }: { link: Link; projectId: string; meId: string }) {
  const feed = useBoardFeed(link, projectId, meId);
  const board = useSyncExternalStore(feed.subscribe, feed.getSnapshot);
  const role = board.members.find((m) => m.id === meId)?.role;
  const canEdit = role !== undefined && role !== "VIEWER";

  if (board.error) return <p className="error">Cannot load the board: {board.error}</p>;
  return (
    <>
      <div className="toolbar">
        {canEdit ? <NewTask feed={feed} /> : <p className="hint">You can look but not change ({role ?? "…"}).</p>}
        <Notices notices={board.notices} />
      </div>
      <div className="columns" aria-busy={board.loading}>
        {STATUSES.map((status) => {
          const tasks = board.tasks.filter((t) => t.status === status);
          return (
            <section key={status} className="column" data-status={status} aria-label={LABELS[status]}>
              <h2>
                {LABELS[status]} <span className="count">{tasks.length}</span>
              </h2>
              {tasks.map((task) => (
                <TaskCard key={task.id} task={task} feed={feed} canEdit={canEdit} />
              ))}
            </section>
          );
        })}
      </div>
    </>
  );
}

function NewTask({ feed }: { feed: BoardFeed }) {
  const [title, setTitle] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    void feed.create(title.trim());
    setTitle("");
  };
  return (
    <form className="new-task" onSubmit={submit}>
      <input
        aria-label="New task title"
        placeholder="New task title"
        value={title}
        maxLength={200}
        onChange={(e) => setTitle(e.target.value)}
      />
      <button type="submit">Add task</button>
    </form>
  );
}

function Notices({ notices }: { notices: Notice[] }) {
  return (
    <ul className="notices" aria-label="Recent changes" aria-live="polite">
      {notices.map((n) => (
        <li key={n.id} className={n.kind}>
          {n.text}
        </li>
      ))}
    </ul>
  );
}

function TaskCard({ task, feed, canEdit }: { task: Task; feed: BoardFeed; canEdit: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <article className="card" data-task-id={task.id} aria-label={task.title}>
      <button type="button" className="title" aria-expanded={open} onClick={() => setOpen(!open)}>
        {task.title}
      </button>
      <div className="meta">
        <select
          aria-label="Status"
          value={task.status}
          disabled={!canEdit}
          onChange={(e) => void feed.move(task, e.target.value as TaskStatus)}
        >
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {LABELS[s]}
            </option>
          ))}
        </select>
        {task.assignee && <span className="assignee">{task.assignee.name ?? task.assignee.id}</span>}
        <span className="version" title="version">
          v{task.version}
        </span>
      </div>
      {open && <TaskDetails task={task} feed={feed} canEdit={canEdit} />}
    </article>
  );
}

/** An open task: its room's viewers, renaming and deleting. */
function TaskDetails({ task, feed, canEdit }: { task: Task; feed: BoardFeed; canEdit: boolean }) {
  useSubscription({ query: FollowTask, variables: { taskId: task.id } }); // joins the room
  const [{ data }] = useSubscription({ query: TaskViewers, variables: { taskId: task.id } });
  const [title, setTitle] = useState(task.title);
  const rename = (event: FormEvent) => {
    event.preventDefault();
    if (title.trim() && title.trim() !== task.title) void feed.rename(task, title.trim());
  };
  return (
    <div className="details">
      <div className="here">
        Open here: <Avatars people={data?.viewersChanged.viewers ?? []} label="Viewing this task" />
      </div>
      {canEdit && (
        <form onSubmit={rename}>
          <input aria-label="Title" value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
          <button type="submit">Rename</button>
          <button type="button" className="danger" onClick={() => void feed.remove(task)}>
            Delete
          </button>
        </form>
      )}
    </div>
  );
}
