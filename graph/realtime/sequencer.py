"""Per-project ordering: each event delivered once, in sequence, gaps filled from the log.

Sequence numbers of a project increase by one per event in commit order, so an event
that arrives early (n+2 before n+1) proves n+1 is committed: it is held back while the
missing ones are fetched from the event log. A periodic check of the log catches a lost
publish that no later event reveals (a membership change too: it is an event of the same
log), and the same check runs after a broker reconnect. `also_check` runs with it, so that
caches bounded by the log (the access cache) are checked as often.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from db.repositories import events as event_repo
from db.session import Database
from graph.metrics import ProcessMetrics
from graph.realtime.records import EventRecord

log = logging.getLogger(__name__)


class ProjectSequencer:
    def __init__(
        self,
        db: Database,
        *,
        deliver: Callable[[EventRecord], None],
        metrics: ProcessMetrics,
        check_interval: float = 2.0,
        also_check: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._deliver = deliver
        self._metrics = metrics
        self._check_interval = check_interval
        self._also_check = also_check
        self._last: dict[str, int] = {}
        self._held: dict[str, dict[int, EventRecord]] = {}
        self._refs: dict[str, int] = {}
        self._starting: dict[str, asyncio.Future[int]] = {}
        self._repairs: dict[str, asyncio.Task[None]] = {}
        self._targets: dict[str, int] = {}
        self._checker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._checker = asyncio.create_task(self._check_periodically(), name="tasklive-gaps")

    async def stop(self) -> None:
        tasks = [t for t in (self._checker, *self._repairs.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def track(self, project_id: str) -> int:
        """Follow a project; returns the last sequence number handled before live delivery."""
        self._refs[project_id] = self._refs.get(project_id, 0) + 1
        if project_id in self._last:
            return self._last[project_id]
        starting = self._starting.get(project_id)
        if starting is not None:
            return await asyncio.shield(starting)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._starting[project_id] = future
        self._held.setdefault(project_id, {})
        try:
            async with self._db.read() as session:
                seqs = await event_repo.last_seqs(session, project_ids=[project_id])
        except BaseException as exc:
            del self._starting[project_id]
            self.untrack(project_id)
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        baseline = seqs.get(project_id, 0)
        del self._starting[project_id]
        if self._refs.get(project_id, 0) > 0:
            self._last[project_id] = baseline
            self._drain(project_id)
        future.set_result(baseline)
        return baseline

    def delivered(self, project_id: str) -> int | None:
        """The last sequence number delivered for a followed project (None if not followed)."""
        return self._last.get(project_id)

    def untrack(self, project_id: str) -> None:
        refs = self._refs.get(project_id, 0) - 1
        if refs > 0:
            self._refs[project_id] = refs
            return
        self._refs.pop(project_id, None)
        self._last.pop(project_id, None)
        self._held.pop(project_id, None)
        self._targets.pop(project_id, None)
        repair = self._repairs.pop(project_id, None)
        if repair is not None:
            repair.cancel()

    def offer(self, record: EventRecord) -> None:
        """Take an event from the broker or the log; deliver what is now in order."""
        project_id = record.project_id
        held = self._held.get(project_id)
        if held is None:
            return  # nobody here follows this project
        last = self._last.get(project_id)
        if last is not None and record.seq <= last:
            return  # already delivered
        held[record.seq] = record
        if last is None:
            return  # the baseline is still being read; drained when it is known
        self._drain(project_id)
        if held:
            self.repair(project_id, upto=max(held))

    def _drain(self, project_id: str) -> None:
        held = self._held[project_id]
        last = self._last[project_id]
        for seq in [s for s in held if s <= last]:
            del held[seq]
        while (record := held.pop(last + 1, None)) is not None:
            last += 1
            self._last[project_id] = last
            self._deliver(record)

    def repair(self, project_id: str, *, upto: int) -> None:
        """Fetch events up to `upto` from the log (one repair per project at a time)."""
        if project_id not in self._last:
            return
        self._targets[project_id] = max(upto, self._targets.get(project_id, 0))
        if project_id not in self._repairs:
            self._repairs[project_id] = asyncio.create_task(self._repair(project_id))

    async def _repair(self, project_id: str) -> None:
        try:
            while project_id in self._last:
                target = self._targets.get(project_id, 0)
                last = self._last[project_id]
                if target <= last:
                    break
                async with self._db.read() as session:
                    rows = await event_repo.get_range(
                        session, project_id=project_id, after_seq=last, upto_seq=target
                    )
                self._metrics.events_backfilled += len(rows)
                for row in rows:
                    self.offer(EventRecord.from_model(row))
                self._skip_pruned(project_id, target)
        except Exception:
            log.exception("filling a gap in project %s from the event log failed", project_id)
        finally:
            self._repairs.pop(project_id, None)

    def _skip_pruned(self, project_id: str, target: int) -> None:
        """Events the log no longer has (pruned) cannot be delivered: move past them."""
        if project_id not in self._last or self._last[project_id] >= target:
            return
        held = self._held[project_id]
        log.warning(
            "project %s: events %d..%d are not in the log; skipping them",
            project_id,
            self._last[project_id] + 1,
            (min(held) - 1) if held else target,
        )
        self._last[project_id] = (min(held) - 1) if held else target
        self._drain(project_id)

    async def check(self) -> None:
        """Compare every followed project with the log; repair the ones behind."""
        projects = [p for p in self._last if p not in self._repairs]
        if not projects:
            return
        async with self._db.read() as session:
            seqs = await event_repo.last_seqs(session, project_ids=projects)
        for project_id, seq in seqs.items():
            last = self._last.get(project_id)
            if last is not None and seq > last:
                self.repair(project_id, upto=seq)

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval)
            try:
                await self.check()
                if self._also_check is not None:
                    await self._also_check()  # the access cache, against the same log
            except Exception:
                log.exception("periodic event-log check failed")
