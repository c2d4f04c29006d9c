"""Upkeep of the database: its schema at start-up, and pruning events past the retention window."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from db.migrate import schema_state, upgrade
from db.repositories import events as event_repo
from db.session import Database
from graph.errors import SchemaBehind
from graph.settings import Settings

log = logging.getLogger(__name__)


async def prepare_database(settings: Settings, db: Database) -> None:
    """SQLite is migrated in place; any other database must be migrated by the operator."""
    state = await schema_state(db.engine)
    if state.up_to_date:
        return
    if settings.is_sqlite:
        log.info("migrating the SQLite schema from %s to %s", state.current, state.head)
        await upgrade(db.engine)
        return
    raise SchemaBehind(
        f"the database schema is at revision {state.current or 'none'} but this version "
        f"needs {state.head}: run `tasklive migrate` (with the same DATABASE_URL) first"
    )


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
