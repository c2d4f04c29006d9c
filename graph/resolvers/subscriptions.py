"""Subscriptions: authorise, replay what `after` missed, then follow the room live."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import strawberry

from db.models import EventType
from db.repositories import events as event_repo
from db.repositories import tasks as task_repo
from graph.context import Context, Info
from graph.cursors import parse_uuid
from graph.errors import BadUserInput, NotFound
from graph.permissions import require_read
from graph.realtime.records import EventRecord
from graph.resolvers.events import check_cursor
from graph.schema.events import (
    TaskCreatedEvent,
    TaskDeletedEvent,
    TaskEvent,
    TaskUpdatedEvent,
    event_from_record,
)
from graph.schema.stats import ViewersChangedEvent
from graph.schema.user import User

REPLAY_PAGE = 200
TASK_TYPES = frozenset({EventType.UPDATED, EventType.DELETED})


async def _replay(
    ctx: Context, *, project_id: str, after_seq: int, task_id: str | None
) -> AsyncGenerator[EventRecord, None]:
    """Events after `after_seq` from the log, page by page until caught up."""
    while True:
        async with ctx.db.read() as session:
            rows = await event_repo.get_after(
                session,
                project_id=project_id,
                after_seq=after_seq,
                limit=REPLAY_PAGE,
                task_id=task_id,
            )
        for row in rows:
            after_seq = row.seq
            yield EventRecord.from_model(row)
        if len(rows) < REPLAY_PAGE:
            return


async def _follow(
    info: Info,
    *,
    project_id: str,
    room: str,
    operation: str,
    after: str | None,
    task_id: str | None = None,
    types: frozenset[EventType] | None = None,
) -> AsyncGenerator[EventRecord, None]:
    """Every event of the room the user may see: first the replay after `after`, then live.

    Live delivery starts (buffered) before the replay reads the log, and whatever the
    replay already sent is dropped from the live stream, so there is no gap and no
    duplicate even for events committed while the replay runs.
    """
    ctx = info.context
    principal = ctx.require_user()
    after_seq = await check_cursor(ctx, project_id=project_id, after=after)
    hub = ctx.services.realtime
    async with hub.subscribe(
        user_id=principal.user_id,
        admin=principal.is_admin,
        project_id=project_id,
        room=room,
        operation=operation,
        task_id=task_id,
        types=types,
        connection=ctx.connection,
    ) as sub:
        last = 0
        if after is not None:
            async for record in _replay(
                ctx, project_id=project_id, after_seq=after_seq, task_id=task_id
            ):
                if sub.ended is not None:
                    raise sub.ended
                last = record.seq
                if types is None or record.type in types:
                    yield record
        while True:
            record, _ = await sub.next()
            if record.seq <= last:
                continue
            hub.metrics.events_delivered += 1
            hub.metrics.delivery_latency.observe(
                max(0.0, time.time() - record.occurred_at.timestamp())
            )
            yield record


async def _task_project(ctx: Context, task_id: str, *, field: str) -> str:
    hidden = NotFound("task not found", field=field)
    async with ctx.db.read() as session:
        model = await task_repo.get(session, task_id=task_id)
    if model is None:
        raise hidden
    await require_read(ctx, model.project_id, hidden=hidden)
    return model.project_id


async def task_updated(
    info: Info, task_id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[TaskUpdatedEvent, None]:
    ctx = info.context
    ctx.require_user()
    tid = parse_uuid(task_id, field="taskId")
    project_id = await _task_project(ctx, tid, field="taskId")
    async for record in _follow(
        info,
        project_id=project_id,
        room=f"task:{tid}",
        operation="taskUpdated",
        after=after,
        task_id=tid,
        types=TASK_TYPES,
    ):
        event = event_from_record(record)
        if isinstance(event, TaskDeletedEvent):
            raise NotFound("the task was deleted", field="taskId", cursor=event.cursor)
        if isinstance(event, TaskUpdatedEvent):
            yield event


async def _project_stream(
    info: Info,
    project_id: str,
    *,
    operation: str,
    after: str | None,
    types: frozenset[EventType] | None,
) -> AsyncGenerator[EventRecord, None]:
    ctx = info.context
    ctx.require_user()
    pid = parse_uuid(project_id, field="projectId")
    await require_read(ctx, pid)
    async for record in _follow(
        info, project_id=pid, room=f"project:{pid}", operation=operation, after=after, types=types
    ):
        yield record


async def task_created(
    info: Info, project_id: strawberry.ID
) -> AsyncGenerator[TaskCreatedEvent, None]:
    types = frozenset({EventType.CREATED})
    async for record in _project_stream(
        info, project_id, operation="taskCreated", after=None, types=types
    ):
        event = event_from_record(record)
        if isinstance(event, TaskCreatedEvent):
            yield event


async def task_deleted(
    info: Info, project_id: strawberry.ID
) -> AsyncGenerator[TaskDeletedEvent, None]:
    types = frozenset({EventType.DELETED})
    async for record in _project_stream(
        info, project_id, operation="taskDeleted", after=None, types=types
    ):
        event = event_from_record(record)
        if isinstance(event, TaskDeletedEvent):
            yield event


async def task_events(
    info: Info, project_id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[TaskEvent, None]:
    async for record in _project_stream(
        info, project_id, operation="taskEvents", after=after, types=None
    ):
        yield event_from_record(record)


async def viewers_changed(
    info: Info, task_id: strawberry.ID | None = None, project_id: strawberry.ID | None = None
) -> AsyncGenerator[ViewersChangedEvent, None]:
    """The room's viewers now, then again whenever someone joins or leaves."""
    ctx = info.context
    ctx.require_user()
    if (task_id is None) == (project_id is None):
        raise BadUserInput("give exactly one of taskId and projectId", field="taskId")
    if task_id is not None:
        tid = parse_uuid(task_id, field="taskId")
        await _task_project(ctx, tid, field="taskId")
        room = f"task:{tid}"
    else:
        pid = parse_uuid(str(project_id), field="projectId")
        await require_read(ctx, pid)
        room = f"project:{pid}"
    hub = ctx.services.realtime
    with hub.watch(room) as changed:
        last: list[str] | None = None
        while True:
            changed.clear()
            user_ids = await hub.viewers(room)
            if user_ids != last:
                last = user_ids
                models = await ctx.loaders.user.load_many(user_ids)
                yield ViewersChangedEvent(
                    room=room,
                    viewers=[
                        User.from_model(m) if m else User.unknown(u)
                        for u, m in zip(user_ids, models, strict=True)
                    ],
                )
            await changed.wait()
