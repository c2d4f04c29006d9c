"""Subscriptions: authorise, replay what `after` missed, then follow the room live."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any

import strawberry

from db.repositories import events as event_repo
from graph.auth.permissions import require_read
from graph.context import Context, Info
from graph.errors import NotFound, TaskliveError
from graph.realtime.records import EventRecord
from graph.resolvers.events import check_cursor
from graph.resolvers.inputs import parse_uuid
from graph.resolvers.live_fields import (
    TASK_CREATED,
    TASK_DELETED,
    TASK_EVENTS,
    TASK_UPDATED,
    EventT,
    LiveField,
    RoomKind,
)
from graph.schema.events import TaskCreatedEvent, TaskDeletedEvent, TaskEvent, TaskUpdatedEvent

REPLAY_PAGE = 200


@dataclass(frozen=True, slots=True)
class LiveTarget:
    """What a live subscription follows; `after_seq` is known once it is authorised."""

    field: LiveField[Any]
    project_id: str
    room: str
    after: str | None
    after_seq: int | None = None
    task_id: str | None = None

    def wants(self, record: EventRecord) -> bool:
        return (self.task_id is None or record.task_id == self.task_id) and self.field.carries(
            record
        )


async def locate(
    ctx: Context, field: LiveField[Any], object_id: str, after: str | None = None
) -> LiveTarget:
    """What a live subscription would follow, not yet authorised (shared by both paths).

    A task that does not exist gets the same NOT_FOUND as one the user may not see.
    """
    ctx.require_user()
    object_id = parse_uuid(object_id, field=field.room.argument)
    project_id, task_id = object_id, None
    if field.room is RoomKind.TASK:
        task_id = object_id
        found = await ctx.services.realtime.access.task_project(task_id)
        if found is None:
            raise NotFound("task not found", field=field.room.argument)
        project_id = found
    return LiveTarget(
        field=field,
        project_id=project_id,
        room=field.room.room(object_id),
        after=after,
        task_id=task_id,
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
    info: Info, field: LiveField[Any], object_id: str, after: str | None
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
    located = await locate(ctx, field, object_id, after)
    async with hub.subscribe(
        user_id=principal.user_id,
        admin=principal.is_admin,
        project_id=located.project_id,
        room=located.room,
        operation=field.name,
        task_id=located.task_id,
        types=field.types,
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
                if record.seq <= last or not target.wants(record):
                    continue
                hub.metrics.events_delivered += 1
                hub.metrics.delivery_latency.observe(
                    max(0.0, time.time() - record.occurred_at.timestamp())
                )
                ctx.renew_loaders()
                yield record


async def follow(
    info: Info, field: LiveField[EventT], object_id: str, after: str | None = None
) -> AsyncGenerator[EventT, None]:
    """A live field's resolver: its events as the field declares them, until one ends it."""
    async for record in _follow(info, field, object_id, after):
        root = field.root(record)
        if isinstance(root, TaskliveError):
            raise root
        if root is not None:
            yield root


def task_updated(
    info: Info, task_id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[TaskUpdatedEvent, None]:
    return follow(info, TASK_UPDATED, task_id, after)


def task_created(info: Info, project_id: strawberry.ID) -> AsyncGenerator[TaskCreatedEvent, None]:
    return follow(info, TASK_CREATED, project_id)


def task_deleted(info: Info, project_id: strawberry.ID) -> AsyncGenerator[TaskDeletedEvent, None]:
    return follow(info, TASK_DELETED, project_id)


def task_events(
    info: Info, project_id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[TaskEvent, None]:
    return follow(info, TASK_EVENTS, project_id, after)
