"""Subscriptions: authorise, replay what `after` missed, then follow the room live."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import strawberry

from db.models import EventType
from db.repositories import events as event_repo
from graph.auth.permissions import require_read
from graph.context import Context, Info
from graph.errors import NotFound
from graph.realtime.records import EventRecord
from graph.realtime.rooms import project_room, task_room
from graph.resolvers.events import check_cursor
from graph.resolvers.inputs import parse_uuid
from graph.schema.events import (
    TaskCreatedEvent,
    TaskDeletedEvent,
    TaskEvent,
    TaskUpdatedEvent,
    event_from_record,
)

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
    """What a live subscription follows; `after_seq` is known once it is authorised."""

    operation: str
    project_id: str
    room: str
    after: str | None
    after_seq: int | None = None
    task_id: str | None = None
    types: frozenset[EventType] | None = None

    def wants(self, record: EventRecord) -> bool:
        return (
            not record.is_membership
            and (self.task_id is None or record.task_id == self.task_id)
            and (self.types is None or record.type in self.types)
        )


async def _task_project(ctx: Context, task_id: str, *, field: str) -> str:
    hidden = NotFound("task not found", field=field)
    project_id = await ctx.services.realtime.access.task_project(task_id)
    if project_id is None:
        raise hidden
    await require_read(ctx, project_id, hidden=hidden)
    return project_id


async def locate(ctx: Context, operation: str, args: dict[str, Any]) -> LiveTarget:
    """What a live subscription would follow, not yet authorised (shared by both paths).

    A task that does not exist gets the same NOT_FOUND as one the user may not see.
    """
    ctx.require_user()
    types: frozenset[EventType] | None
    if operation == "taskUpdated":
        task_id = parse_uuid(args["taskId"], field="taskId")
        project_id = await ctx.services.realtime.access.task_project(task_id)
        if project_id is None:
            raise NotFound("task not found", field="taskId")
        room, types = task_room(task_id), TASK_TYPES
    else:
        task_id = None
        project_id = parse_uuid(args["projectId"], field="projectId")
        room, types = project_room(project_id), PROJECT_TYPES[operation]
    return LiveTarget(
        operation=operation,
        project_id=project_id,
        room=room,
        after=args.get("after"),
        task_id=task_id,
        types=types,
    )


async def authorise(ctx: Context, target: LiveTarget) -> LiveTarget:
    """Allow the caller in and check its cursor.

    Called once the subscription is `guarded` (see RealtimeHub.guarded), with a role read
    from the database or cached no earlier than what this instance has delivered of the
    project's log: a removal that this role does not show reaches the subscription later,
    as an event, and ends it.
    """
    hidden = NotFound("task not found", field="taskId") if target.task_id else None
    await require_read(ctx, target.project_id, hidden=hidden, fresh=True)
    seq = await check_cursor(ctx, project_id=target.project_id, after=target.after)
    return replace(target, after_seq=seq if target.after is not None else None)


async def replay(ctx: Context, target: LiveTarget) -> AsyncGenerator[EventRecord, None]:
    """The target's task events after its cursor, from the log, page by page until caught up."""
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


async def _follow(
    info: Info, operation: str, args: dict[str, Any]
) -> AsyncGenerator[EventRecord, None]:
    """Every event of the target the user may see: first the replay after `after`, then live.

    Live delivery starts (buffered) before the user is authorised and before the replay
    reads the log, and whatever the replay already sent is dropped from the live stream, so
    there is no gap and no duplicate even for events committed while the replay runs, and
    no removal can fall between the authorisation and the subscription's registration.
    """
    ctx = info.context
    principal = ctx.require_user()
    hub = ctx.services.realtime
    located = await locate(ctx, operation, args)
    async with hub.subscribe(
        user_id=principal.user_id,
        admin=principal.is_admin,
        project_id=located.project_id,
        room=located.room,
        operation=located.operation,
        task_id=located.task_id,
        types=located.types,
        connection=ctx.connection,
    ) as sub:
        target = await authorise(ctx, located)
        with hub.viewing(sub):
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
    async for record in _follow(info, "taskUpdated", {"taskId": task_id, "after": after}):
        event = event_from_record(record)
        if isinstance(event, TaskDeletedEvent):
            raise deleted_error(event)
        if isinstance(event, TaskUpdatedEvent):
            yield event


async def _events_of(
    info: Info, operation: str, args: dict[str, Any], kind: type[EventT]
) -> AsyncGenerator[EventT, None]:
    """The target's events that are of `kind` (every event for TaskEvent)."""
    async for record in _follow(info, operation, args):
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
