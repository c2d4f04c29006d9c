"""Per-project ordering against a real event log: early events wait, gaps are fetched."""

from __future__ import annotations

import asyncio

from db.models import EventType, TaskStatus
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.session import Database
from graph.metrics import ProcessMetrics
from graph.realtime.records import EventRecord
from graph.realtime.sequencer import ProjectSequencer


async def make_events(
    db: Database, count: int, project_id: str | None = None
) -> tuple[str, list[EventRecord]]:
    """`count` committed events of one project (a new one unless given), in order."""
    records = []
    async with db.write() as session:
        await user_repo.upsert(session, user_id="seq-user", name=None, email=None)
        if project_id is None:
            project_id = (await project_repo.create(session, name="p", owner_id="seq-user")).id
        task = await task_repo.create(
            session,
            project_id=project_id,
            title="t",
            description=None,
            status=TaskStatus.PENDING,
            assignee_id=None,
            created_by_id="seq-user",
        )
        for _ in range(count):
            row = await event_repo.append(
                session, task=task, type=EventType.UPDATED, actor_id="seq-user"
            )
            records.append(EventRecord.from_model(row))
    return project_id, records


class Collector:
    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.changed = asyncio.Event()

    def deliver(self, record: EventRecord) -> None:
        self.seqs.append(record.seq)
        self.changed.set()

    async def until(self, count: int) -> list[int]:
        async with asyncio.timeout(10):
            while len(self.seqs) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.seqs


async def test_an_early_event_waits_for_the_missing_ones_from_the_log(db: Database) -> None:
    project_id, _ = await make_events(db, 0)
    got = Collector()
    sequencer = ProjectSequencer(db, deliver=got.deliver, metrics=ProcessMetrics())
    assert await sequencer.track(project_id) == 0
    _, records = await make_events(db, 3, project_id)
    sequencer.offer(records[2])  # 3 arrives first: 1 and 2 are fetched from the log
    assert await got.until(3) == [1, 2, 3]
    sequencer.offer(records[1])  # a late duplicate is dropped
    sequencer.offer(records[2])
    assert got.seqs == [1, 2, 3]
    await sequencer.stop()


async def test_a_lost_publish_is_found_by_the_periodic_check(db: Database) -> None:
    project_id, _ = await make_events(db, 0)
    got = Collector()
    metrics = ProcessMetrics()
    sequencer = ProjectSequencer(db, deliver=got.deliver, metrics=metrics, check_interval=0.05)
    await sequencer.track(project_id)
    sequencer.start()
    await make_events(db, 2, project_id)  # committed, never offered
    assert await got.until(2) == [1, 2]
    assert metrics.events_backfilled == 2
    await sequencer.stop()


async def test_live_delivery_starts_after_the_baseline(db: Database) -> None:
    project_id, before = await make_events(db, 2)
    got = Collector()
    sequencer = ProjectSequencer(db, deliver=got.deliver, metrics=ProcessMetrics())
    assert await sequencer.track(project_id) == 2
    for record in before:
        sequencer.offer(record)  # already committed before we followed: not delivered
    _, after = await make_events(db, 2, project_id)
    for record in after:
        sequencer.offer(record)
    assert await got.until(2) == [3, 4]
    sequencer.untrack(project_id)
    _, later = await make_events(db, 1, project_id)
    sequencer.offer(later[0])  # nobody follows the project any more
    assert got.seqs == [3, 4]
    await sequencer.stop()
