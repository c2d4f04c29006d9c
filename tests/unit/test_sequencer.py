"""graph/realtime/sequencer.py: each project's events delivered once and in order; early
events held until the missing ones arrive or are read from the log; gaps repaired.

The log is a tiny SQLite file in tmp_path made from the models (no server, no migrations).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from db.models import Base, EventType
from db.session import Database
from graph.metrics import ProcessMetrics
from graph.realtime.records import EventRecord
from graph.realtime.sequencer import ProjectSequencer
from tests.support.factories import make_project, make_task, make_updates

WAIT = 5.0


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


class Delivered:
    """What the sequencer delivers, and a bounded wait for more."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self._changed = asyncio.Event()

    def __call__(self, record: EventRecord) -> None:
        self.seqs.append(record.seq)
        self._changed.set()

    async def until(self, count: int) -> list[int]:
        async with asyncio.timeout(WAIT):
            while len(self.seqs) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.seqs


@pytest.fixture
def delivered() -> Delivered:
    return Delivered()


@pytest.fixture
def metrics() -> ProcessMetrics:
    return ProcessMetrics()


@pytest.fixture
async def sequencer(
    db: Database, delivered: Delivered, metrics: ProcessMetrics
) -> AsyncIterator[ProjectSequencer]:
    made = ProjectSequencer(db, deliver=delivered, metrics=metrics)
    try:
        yield made
    finally:
        await made.stop()


async def log_of(
    db: Database, count: int, project_id: str | None = None
) -> tuple[str, list[EventRecord]]:
    """A project (new unless given) with `count` more committed events: a task's CREATED,
    then its UPDATEs."""
    if project_id is None:
        project_id = await make_project(db, owner="owner")
    if count == 0:
        return project_id, []
    task, created = await make_task(db, project_id=project_id, created_by="owner")
    rows = [created, *await make_updates(db, task, count - 1, actor="owner")]
    return project_id, [EventRecord.from_model(r) for r in rows]


async def follow_new_project(db: Database, sequencer: ProjectSequencer) -> str:
    """A new project, its log empty, followed from its start."""
    project_id = await make_project(db, owner="owner")
    assert await sequencer.track(project_id) == 0
    return project_id


def fake(project_id: str, seq: int) -> EventRecord:
    """An event the log never held (as if pruned)."""
    return EventRecord(
        project_id=project_id,
        seq=seq,
        task_id="t",
        type=EventType.UPDATED,
        actor_id="owner",
        occurred_at=datetime.now(UTC),
    )


async def test_events_offered_in_order_are_delivered_at_once(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id = await follow_new_project(db, sequencer)
    _, records = await log_of(db, 3, project_id)
    for record in records:
        sequencer.offer(record)
    assert delivered.seqs == [1, 2, 3]  # synchronously, no read of the log
    assert sequencer.delivered(project_id) == 3


async def test_an_early_event_is_held_until_the_missing_one_arrives(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id = await follow_new_project(db, sequencer)
    _, records = await log_of(db, 3, project_id)
    sequencer.offer(records[2])
    sequencer.offer(records[1])
    assert delivered.seqs == []  # 1 is missing: 2 and 3 wait
    sequencer.offer(records[0])
    assert delivered.seqs == [1, 2, 3]


async def test_duplicates_and_old_events_are_dropped(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id = await follow_new_project(db, sequencer)
    _, records = await log_of(db, 2, project_id)
    for record in (records[0], records[0], records[1], records[0], records[1]):
        sequencer.offer(record)
    assert delivered.seqs == [1, 2]


async def test_a_gap_is_repaired_from_the_log(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered, metrics: ProcessMetrics
) -> None:
    project_id = await follow_new_project(db, sequencer)
    _, records = await log_of(db, 4, project_id)
    sequencer.offer(records[3])  # 1..3 were lost by the broker
    assert await delivered.until(4) == [1, 2, 3, 4]
    assert metrics.events_backfilled == 4  # the rows read: 1..4, the held one included


async def test_events_the_log_no_longer_has_are_skipped(
    db: Database,
    sequencer: ProjectSequencer,
    delivered: Delivered,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project_id = await follow_new_project(db, sequencer)
    with caplog.at_level(logging.WARNING, logger="graph.realtime.sequencer"):
        sequencer.offer(fake(project_id, 4))  # 1..3 were pruned
        assert await delivered.until(1) == [4]
    assert "events 1..3 are not in the log" in caplog.text


async def test_events_committed_before_tracking_are_not_delivered(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id, before = await log_of(db, 2)
    assert await sequencer.track(project_id) == 2
    for record in before:
        sequencer.offer(record)
    _, after = await log_of(db, 1, project_id)
    sequencer.offer(after[0])
    assert delivered.seqs == [3]


async def test_an_event_offered_while_the_baseline_is_read_is_delivered_after_it(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id = await make_project(db, owner="owner")
    tracking = asyncio.ensure_future(sequencer.track(project_id))
    await asyncio.sleep(0)  # track() is now reading the log
    assert not tracking.done()
    sequencer.offer(fake(project_id, 1))
    assert delivered.seqs == []
    async with asyncio.timeout(WAIT):
        assert await tracking == 0
    assert delivered.seqs == [1]


async def test_two_trackers_share_one_baseline_and_both_must_leave(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id, _ = await log_of(db, 1)
    async with asyncio.timeout(WAIT):
        baselines = await asyncio.gather(sequencer.track(project_id), sequencer.track(project_id))
    assert list(baselines) == [1, 1]
    sequencer.untrack(project_id)
    sequencer.offer(fake(project_id, 2))
    assert delivered.seqs == [2]  # one follower left
    sequencer.untrack(project_id)
    assert sequencer.delivered(project_id) is None
    sequencer.offer(fake(project_id, 3))
    assert delivered.seqs == [2]  # nobody follows it now


async def test_an_unfollowed_project_is_ignored(
    sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    sequencer.offer(fake("elsewhere", 1))
    sequencer.repair("elsewhere", upto=5)
    assert delivered.seqs == [] and sequencer.delivered("elsewhere") is None


async def test_the_check_finds_events_no_one_published(
    db: Database, sequencer: ProjectSequencer, delivered: Delivered
) -> None:
    project_id = await make_project(db, owner="owner")
    other_id = await make_project(db, owner="owner")
    await sequencer.track(project_id)
    await sequencer.track(other_id)
    await log_of(db, 2, project_id)  # committed, never offered
    await sequencer.check()
    assert await delivered.until(2) == [1, 2]
    assert sequencer.delivered(other_id) == 0


async def test_the_periodic_check_runs_on_its_interval(
    db: Database, delivered: Delivered, metrics: ProcessMetrics
) -> None:
    checked = asyncio.Event()

    async def also_check() -> None:
        checked.set()

    sequencer = ProjectSequencer(
        db, deliver=delivered, metrics=metrics, check_interval=0.01, also_check=also_check
    )
    project_id = await follow_new_project(db, sequencer)
    sequencer.start()
    try:
        await log_of(db, 1, project_id)
        assert await delivered.until(1) == [1]
        async with asyncio.timeout(WAIT):
            await checked.wait()
    finally:
        await sequencer.stop()


async def test_a_baseline_that_cannot_be_read_is_an_error_and_leaves_nothing_behind(
    tmp_path: Path, delivered: Delivered, metrics: ProcessMetrics
) -> None:
    empty = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    sequencer = ProjectSequencer(empty, deliver=delivered, metrics=metrics)
    try:
        with pytest.raises(Exception, match="no such table"):
            await sequencer.track("p1")
        sequencer.offer(fake("p1", 1))
        assert delivered.seqs == [] and sequencer.delivered("p1") is None
    finally:
        await sequencer.stop()
        await empty.dispose()
