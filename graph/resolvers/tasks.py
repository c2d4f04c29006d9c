"""Task queries and mutations: validate, change inside one transaction with its event, publish."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EventType, TaskEvent, TaskStatus, utcnow
from db.models import Task as TaskModel
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from graph.context import Context, Info
from graph.cursors import (
    check_text,
    decode_task_cursor,
    encode_task_cursor,
    parse_user_id,
    parse_uuid,
)
from graph.errors import BadUserInput, Conflict, NotFound
from graph.permissions import require_read, require_write
from graph.realtime.records import EventRecord
from graph.schema.task import (
    CreateTaskInput,
    PageInfo,
    Task,
    TaskConnection,
    TaskEdge,
    UpdateTaskInput,
)

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
DEFAULT_PAGE = 20


def clean_title(value: str, *, field: str) -> str:
    title = value.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise BadUserInput(f"title must be 1 to {MAX_TITLE} characters", field=field)
    return check_text(title, field=field)


def clean_description(value: str | None, *, field: str) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_DESCRIPTION:
        raise BadUserInput(f"description must be at most {MAX_DESCRIPTION} characters", field=field)
    return check_text(value, field=field)


def page_size(ctx: Context, first: int | None, *, field: str = "first") -> int:
    limit = ctx.settings.max_page_size
    if first is None:
        return min(DEFAULT_PAGE, limit)
    if not 0 <= first <= limit:
        raise BadUserInput(f"`{field}` must be between 0 and {limit}", field=field)
    return first


def _task_not_found() -> NotFound:
    return NotFound("task not found", field="id")


async def task_page(
    info: Info,
    *,
    project_id: str,
    status: TaskStatus | None = None,
    assignee_id: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> TaskConnection:
    ctx = info.context
    project_id = parse_uuid(project_id, field="projectId")
    if assignee_id is not None:
        assignee_id = parse_user_id(assignee_id, field="assigneeId")
    size = page_size(ctx, first)
    position = decode_task_cursor(after) if after is not None else None
    await require_read(ctx, project_id)
    async with ctx.db.read() as session:
        page = await task_repo.get_page(
            session,
            project_id=project_id,
            first=size,
            after=position,
            status=status,
            assignee_id=assignee_id,
        )
    edges = [
        TaskEdge(cursor=encode_task_cursor(t.created_at, t.id), node=Task.from_model(t))
        for t in page.tasks
    ]
    return TaskConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=position is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total,
    )


async def list_tasks(
    info: Info,
    project_id: strawberry.ID,
    status: TaskStatus | None = None,
    assignee_id: strawberry.ID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> TaskConnection:
    return await task_page(
        info,
        project_id=project_id,
        status=status,
        assignee_id=assignee_id,
        first=first,
        after=after,
    )


async def get_task(info: Info, id: strawberry.ID) -> Task | None:
    ctx = info.context
    ctx.require_user()
    task_id = parse_uuid(id, field="id")
    async with ctx.db.read() as session:
        model = await task_repo.get(session, task_id=task_id)
    if model is None:
        raise _task_not_found()
    await require_read(ctx, model.project_id, hidden=_task_not_found())
    return Task.from_model(model)


async def publish(ctx: Context, rows: Sequence[TaskEvent]) -> None:
    """Hand committed events to the live layer; a failure never fails the mutation."""
    records = [EventRecord.from_model(row) for row in rows]
    try:
        await ctx.services.realtime.publish(records)
    except Exception:
        log.exception("publishing %d event(s) failed; the event log will repair it", len(records))


async def _check_assignee(
    session: AsyncSession, *, project_id: str, assignee_id: str | None, field: str
) -> str | None:
    if assignee_id is None:
        return None
    assignee_id = parse_user_id(assignee_id, field=field)
    if await project_repo.get_role(session, project_id=project_id, user_id=assignee_id) is None:
        raise BadUserInput("the assignee must be a member of the project", field=field)
    return assignee_id


async def create_task(info: Info, input: CreateTaskInput) -> Task:
    ctx = info.context
    user = ctx.require_user()
    project_id = parse_uuid(input.project_id, field="input.projectId")
    title = clean_title(input.title, field="input.title")
    description = clean_description(input.description, field="input.description")
    await require_write(
        ctx, project_id, hidden=NotFound("project not found", field="input.projectId")
    )
    async with ctx.db.write() as session:
        assignee = await _check_assignee(
            session, project_id=project_id, assignee_id=input.assignee_id, field="input.assigneeId"
        )
        model = await task_repo.create(
            session,
            project_id=project_id,
            title=title,
            description=description,
            status=input.status or TaskStatus.PENDING,
            assignee_id=assignee,
            created_by_id=user.user_id,
        )
        row = await event_repo.append(
            session, task=model, type=EventType.CREATED, actor_id=user.user_id
        )
    await publish(ctx, [row])
    return Task.from_model(model)


def _apply(model: TaskModel, changes: dict[str, object]) -> list[str]:
    """Set the changed attributes; return the GraphQL names of those that changed."""
    names = {
        "title": "title",
        "description": "description",
        "status": "status",
        "assignee_id": "assignee",
    }
    changed = []
    for attr, value in changes.items():
        if getattr(model, attr) != value:
            setattr(model, attr, value)
            changed.append(names[attr])
    if changed:
        model.version += 1
        model.updated_at = utcnow()
    return changed


async def _authorise_writes(ctx: Context, task_ids: Sequence[str], *, hidden: NotFound) -> None:
    """Check write access before the write transaction takes its locks.

    The check reads through a connection of its own; made inside the transaction, it
    would need a second pooled connection while holding row locks, and concurrent writers
    of one task could exhaust the pool. Made first, it is cached for the request.
    """
    async with ctx.db.read() as session:
        models = await task_repo.get_many(session, task_ids=task_ids)
    if len(models) != len(set(task_ids)):
        raise hidden
    for project_id in sorted({m.project_id for m in models}):
        await require_write(ctx, project_id, hidden=hidden)


async def _change(
    info: Info, id: str, changes: dict[str, object], expected_version: int | None
) -> Task:
    ctx = info.context
    user = ctx.require_user()
    task_id = parse_uuid(id, field="id")
    await _authorise_writes(ctx, [task_id], hidden=_task_not_found())
    async with ctx.db.write() as session:
        model = await task_repo.get(session, task_id=task_id, for_update=True)
        if model is None:
            raise _task_not_found()  # deleted since the check
        if expected_version is not None and model.version != expected_version:
            raise Conflict(
                f"task is at version {model.version}, not {expected_version}",
                current_version=model.version,
            )
        if "assignee_id" in changes:
            await _check_assignee(
                session,
                project_id=model.project_id,
                assignee_id=changes["assignee_id"],  # type: ignore[arg-type]
                field="input.assigneeId",
            )
        previous = model.status
        changed = _apply(model, changes)
        row = None
        if changed:
            row = await event_repo.append(
                session,
                task=model,
                type=EventType.UPDATED,
                actor_id=user.user_id,
                changed_fields=changed,
                previous_status=previous,
            )
    if row is not None:
        await publish(ctx, [row])
    return Task.from_model(model)


async def update_task(
    info: Info, id: strawberry.ID, input: UpdateTaskInput, expected_version: int | None = None
) -> Task:
    changes: dict[str, object] = {}
    if input.title is not strawberry.UNSET:
        if input.title is None:
            raise BadUserInput("title cannot be null", field="input.title")
        changes["title"] = clean_title(input.title, field="input.title")
    if input.description is not strawberry.UNSET:
        changes["description"] = clean_description(input.description, field="input.description")
    if input.status is not strawberry.UNSET:
        if input.status is None:
            raise BadUserInput("status cannot be null", field="input.status")
        changes["status"] = input.status
    if input.assignee_id is not strawberry.UNSET:
        changes["assignee_id"] = input.assignee_id
    return await _change(info, id, changes, expected_version)


async def update_task_status(
    info: Info, id: strawberry.ID, status: TaskStatus, expected_version: int | None = None
) -> Task:
    return await _change(info, id, {"status": status}, expected_version)


async def bulk_update_task_status(
    info: Info, ids: list[strawberry.ID], status: TaskStatus
) -> list[Task]:
    ctx = info.context
    user = ctx.require_user()
    if not 1 <= len(ids) <= ctx.settings.max_bulk_ids:
        raise BadUserInput(f"give 1 to {ctx.settings.max_bulk_ids} ids", field="ids")
    task_ids = [parse_uuid(i, field="ids") for i in ids]
    hidden = NotFound("task not found", field="ids")
    rows: list[TaskEvent] = []
    await _authorise_writes(ctx, task_ids, hidden=hidden)
    async with ctx.db.write() as session:
        models = {
            m.id: m for m in await task_repo.get_many(session, task_ids=task_ids, for_update=True)
        }
        if len(models) != len(set(task_ids)):
            raise hidden  # deleted since the check
        for model in sorted(models.values(), key=lambda m: (m.project_id, m.id)):
            previous = model.status
            if _apply(model, {"status": status}):
                rows.append(
                    await event_repo.append(
                        session,
                        task=model,
                        type=EventType.UPDATED,
                        actor_id=user.user_id,
                        changed_fields=["status"],
                        previous_status=previous,
                    )
                )
    await publish(ctx, rows)
    return [Task.from_model(models[i]) for i in task_ids]


async def delete_task(info: Info, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    user = ctx.require_user()
    task_id = parse_uuid(id, field="id")
    await _authorise_writes(ctx, [task_id], hidden=_task_not_found())
    async with ctx.db.write() as session:
        model = await task_repo.get(session, task_id=task_id, for_update=True)
        if model is None:
            raise _task_not_found()  # deleted since the check
        model.version += 1
        model.updated_at = utcnow()
        row = await event_repo.append(
            session, task=model, type=EventType.DELETED, actor_id=user.user_id
        )
        await task_repo.delete_one(session, task_id=task_id)
    await publish(ctx, [row])
    return strawberry.ID(task_id)
