"""Subscriptions: authorise, replay what `after` missed, then follow the room live."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry

from db.models import EventType
from db.repositories import events as event_repo
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

EventT = TypeVar("EventT", bound=TaskEvent)
REPLAY_PAGE = 200
TASK_TYPES = frozenset({EventType.UPDATED, EventType.DELETED})
PROJECT_TYPES: dict[str, frozenset[EventType] | None] = {
    "taskCreated": frozenset({EventType.CREATED}),
    "taskDeleted": frozenset({EventType.DELETED}),
    "taskEvents": None,
}


@dataclass(frozen=True, slots=True)
class LiveTarget:
    """What a live subscription follows, once the caller has been allowed to follow it."""

    operation: str
    project_id: str
    room: str
    after: str | None
    after_seq: int | None
    task_id: str | None = None
    types: frozenset[EventType] | None = None

    def wants(self, record: EventRecord) -> bool:
        return (self.task_id is None or record.task_id == self.task_id) and (
            self.types is None or record.type in self.types
        )


async def _task_project(ctx: Context, task_id: str, *, field: str) -> str:
    hidden = NotFound("task not found", field=field)
    project_id = await ctx.services.realtime.access.task_project(task_id)
    if project_id is None:
        raise hidden
    await require_read(ctx, project_id, hidden=hidden)
    return project_id


async def resolve_target(ctx: Context, operation: str, args: dict[str, Any]) -> LiveTarget:
    """Authorise a live subscription and say what it follows (shared by both paths)."""
    ctx.require_user()
    after = args.get("after")
    types: frozenset[EventType] | None
    if operation == "taskUpdated":
        task_id = parse_uuid(args["taskId"], field="taskId")
        project_id = await _task_project(ctx, task_id, field="taskId")
        room, types = f"task:{task_id}", TASK_TYPES
    else:
        task_id = None
        project_id = parse_uuid(args["projectId"], field="projectId")
        await require_read(ctx, project_id)
        room, types = f"project:{project_id}", PROJECT_TYPES[operation]
    seq = await check_cursor(ctx, project_id=project_id, after=after)
    return LiveTarget(
        operation=operation,
        project_id=project_id,
        room=room,
        after=after,
        after_seq=seq if after is not None else None,
        task_id=task_id,
        types=types,
    )


async def replay(ctx: Context, target: LiveTarget) -> AsyncGenerator[EventRecord, None]:
    """The target's events after its cursor, from the log, page by page until caught up."""
    if target.after_seq is None:
        return
    after_seq = target.after_seq
    while True:
        async with ctx.db.read() as session:
            rows = await event_repo.get_after(
                session,
                project_id=target.project_id,
                after_seq=after_seq,
                limit=REPLAY_PAGE,
                task_id=target.task_id,
            )
        for row in rows:
            after_seq = row.seq
            yield EventRecord.from_model(row)
        if len(rows) < REPLAY_PAGE:
            return


async def _follow(info: Info, target: LiveTarget) -> AsyncGenerator[EventRecord, None]:
    """Every event of the target the user may see: first the replay after `after`, then live.

    Live delivery starts (buffered) before the replay reads the log, and whatever the
    replay already sent is dropped from the live stream, so there is no gap and no
    duplicate even for events committed while the replay runs.
    """
    ctx = info.context
    principal = ctx.require_user()
    hub = ctx.services.realtime
    async with hub.subscribe(
        user_id=principal.user_id,
        admin=principal.is_admin,
        project_id=target.project_id,
        room=target.room,
        operation=target.operation,
        task_id=target.task_id,
        types=target.types,
        connection=ctx.connection,
    ) as sub:
        # The client holds everything up to its cursor; an instance that is behind it
        # (it has not yet heard of the newest events) delivers those later: skip them.
        last = target.after_seq or 0
        async for record in replay(ctx, target):
            if sub.ended is not None:
                raise sub.ended
            last = record.seq
            if target.wants(record):
                ctx.renew_loaders()
                yield record
        while True:
            record, _ = await sub.next()
            if record.seq <= last:
                continue
            hub.metrics.events_delivered += 1
            hub.metrics.delivery_latency.observe(
                max(0.0, time.time() - record.occurred_at.timestamp())
            )
            ctx.renew_loaders()
            yield record


def deleted_error(event: TaskDeletedEvent) -> NotFound:
    return NotFound("the task was deleted", field="taskId", cursor=event.cursor)


async def task_updated(
    info: Info, task_id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[TaskUpdatedEvent, None]:
    target = await resolve_target(info.context, "taskUpdated", {"taskId": task_id, "after": after})
    async for record in _follow(info, target):
        event = event_from_record(record)
        if isinstance(event, TaskDeletedEvent):
            raise deleted_error(event)
        if isinstance(event, TaskUpdatedEvent):
            yield event


async def _events_of(
    info: Info, operation: str, args: dict[str, Any], kind: type[EventT]
) -> AsyncGenerator[EventT, None]:
    """The target's events that are of `kind` (every event for TaskEvent)."""
    target = await resolve_target(info.context, operation, args)
    async for record in _follow(info, target):
        event = event_from_record(record)
        if isinstance(event, kind):
            yield event


def task_created(info: Info, project_id: strawberry.ID) -> AsyncGenerator[TaskCreatedEvent, None]:
    return _events_of(info, "taskCreated", {"projectId": project_id}, TaskCreatedEvent)


def task_deleted(info: Info, project_id: strawberry.ID) -> AsyncGenerator[TaskDeletedEvent, None]:
    return _events_of(info, "taskDeleted", {"projectId": project_id}, TaskDeletedEvent)


def task_events(
    info: Info, project_id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[TaskEvent, None]:
    return _events_of(info, "taskEvents", {"projectId": project_id, "after": after}, TaskEvent)


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
    with hub.watchers.watch(room) as changed:
        last: list[str] | None = None
        while True:
            changed.clear()
            user_ids = await hub.viewers(room)
            if user_ids != last:
                last = user_ids
                ctx.renew_loaders()
                models = await ctx.loaders.user.load_many(user_ids)
                yield ViewersChangedEvent(
                    room=room,
                    viewers=[
                        User.from_model(m) if m else User.unknown(u)
                        for u, m in zip(user_ids, models, strict=True)
                    ],
                )
            await changed.wait()
