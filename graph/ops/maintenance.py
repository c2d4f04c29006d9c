"""Background upkeep of the event log: pruning events past the retention window."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from db.repositories import events as event_repo
from db.session import Database

log = logging.getLogger(__name__)


async def prune_events(db: Database, *, retention: timedelta) -> int:
    async with db.write() as session:
        removed = await event_repo.prune(session, older_than=datetime.now(UTC) - retention)
    if removed:
        log.info("pruned %d event(s) older than %s", removed, retention)
    return removed


async def run_pruner(db: Database, *, retention: timedelta) -> None:
    """Prune now and then at a tenth of the retention (at most every 10 minutes)."""
    interval = max(1.0, min(retention.total_seconds() / 10, 600.0))
    while True:
        try:
            await prune_events(db, retention=retention)
        except Exception:
            log.exception("pruning the event log failed; will retry")
        await asyncio.sleep(interval)
