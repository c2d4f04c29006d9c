"""The event log: handing committed events to the live layer, and the `taskEvents` query
for clients that catch up or poll."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import strawberry

from db.models import TaskEvent as TaskEventModel
from db.repositories import events as event_repo
from graph.auth.permissions import require_read
from graph.context import Context, Info
from graph.errors import CursorExpired
from graph.realtime.records import EventRecord
from graph.resolvers.inputs import decode_event_cursor, parse_uuid
from graph.resolvers.pages import page_size
from graph.schema.events import TaskEvent, event_from_record

log = logging.getLogger(__name__)


async def publish(ctx: Context, rows: Sequence[TaskEventModel]) -> None:
    """Hand committed events to the live layer; a failure never fails the mutation."""
    records = [EventRecord.from_model(row) for row in rows]
    try:
        await ctx.services.realtime.publish(records)
    except Exception:
        log.exception("publishing %d event(s) failed; the event log will repair it", len(records))


async def check_cursor(ctx: Context, *, project_id: str, after: str | None) -> int:
    """The sequence number `after` points at (0 for none); CURSOR_EXPIRED when pruned."""
    if after is None:
        return 0
    seq = decode_event_cursor(after, project_id=project_id)
    async with ctx.db.read() as session:
        if await event_repo.is_expired(session, project_id=project_id, after_seq=seq):
            raise CursorExpired(
                "events after this cursor are past the retention window; refetch and resume "
                "from a new cursor"
            )
    return seq


async def task_events(
    info: Info, project_id: strawberry.ID, after: str | None = None, first: int | None = None
) -> list[TaskEvent]:
    ctx = info.context
    pid = parse_uuid(project_id, field="projectId")
    size = page_size(ctx, first)
    await require_read(ctx, pid)
    seq = await check_cursor(ctx, project_id=pid, after=after)
    async with ctx.db.read() as session:
        # Task events only: the numbers of membership changes are skipped, never a gap.
        rows = await event_repo.get_after(session, project_id=pid, after_seq=seq, limit=size)
    return [event_from_record(EventRecord.from_model(r)) for r in rows]
