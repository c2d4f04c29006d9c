"""RoomWatchers without a server: one read and one list per change, whatever the watchers."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from graph.metrics import ProcessMetrics
from graph.realtime.presence import RoomView, RoomWatcher, RoomWatchers
from graph.realtime.snapshot import InstanceSnapshot

ROOM = "project:p1"
WAIT = 5.0


class Instances:
    """The deployment's snapshots as a test sets them, counting the reads."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, int]] = {}
        self.reads = 0
        self.done = asyncio.Event()

    async def read(self) -> list[InstanceSnapshot]:
        self.reads += 1
        await asyncio.sleep(0)  # a real read awaits Redis
        self.done.set()  # the rebuild goes on from here without awaiting anything
        snapshot = InstanceSnapshot(id="i1", started_at=datetime.now(UTC), rooms=self.rooms)
        return [snapshot]


@pytest.fixture
def instances() -> Instances:
    return Instances()


@pytest.fixture
def metrics() -> ProcessMetrics:
    return ProcessMetrics()


@pytest.fixture
def watchers(instances: Instances, metrics: ProcessMetrics) -> RoomWatchers:
    return RoomWatchers(metrics=metrics, changed=lambda: None, instances=instances.read)


async def next_views(watching: list[RoomWatcher]) -> list[RoomView]:
    async with asyncio.timeout(WAIT):
        return await asyncio.gather(*(w.next() for w in watching))


async def test_a_change_is_read_and_built_once_for_a_hundred_watchers(
    watchers: RoomWatchers, instances: Instances, metrics: ProcessMetrics
) -> None:
    instances.rooms = {ROOM: {"alice": 2}}
    with contextlib.ExitStack() as stack:
        watching = [
            stack.enter_context(watchers.watch(ROOM, user_id=f"w{i}", project_id="p1", admin=False))
            for i in range(100)
        ]
        first = await next_views(watching)
        assert {id(v) for v in first} == {id(first[0])}
        assert first[0].user_ids == ["alice"]
        assert (instances.reads, metrics.presence_rebuilds) == (1, 1)

        builds: list[list[str]] = []

        async def build(user_ids: list[str]) -> list[str]:
            builds.append(user_ids)
            await asyncio.sleep(0)
            return [u.upper() for u in user_ids]

        rows = await asyncio.gather(*(v.payload(build) for v in first))
        assert rows == [["ALICE"]] * 100 and len(builds) == 1

        # A burst of notifications: one read, one rebuild, one list for everyone.
        instances.rooms = {ROOM: {"alice": 1, "bob": 1}}
        for _ in range(5):
            watchers.notify({ROOM, "project:elsewhere"})
        second = await next_views(watching)
        assert {id(v) for v in second} == {id(second[0])}
        assert second[0].user_ids == ["alice", "bob"]
        assert (instances.reads, metrics.presence_rebuilds) == (2, 2)
        assert metrics.subscriptions["viewersChanged"] == 100

        # A rebuild that finds the same list wakes nobody: the next list is the next change.
        instances.done.clear()
        watchers.notify({ROOM})
        async with asyncio.timeout(WAIT):
            await instances.done.wait()
        assert metrics.presence_rebuilds == 3
        pending = [asyncio.ensure_future(w.next()) for w in watching]
        await asyncio.sleep(0)
        assert not any(task.done() for task in pending)
        instances.rooms = {ROOM: {"bob": 1}}
        watchers.notify({ROOM})
        async with asyncio.timeout(WAIT):
            third = await asyncio.gather(*pending)
        assert third[0].user_ids == ["bob"] and metrics.presence_rebuilds == 4
    assert watchers.count() == 0 and metrics.subscriptions["viewersChanged"] == 0


async def test_unwatched_rooms_are_not_read(
    watchers: RoomWatchers, instances: Instances, metrics: ProcessMetrics
) -> None:
    watchers.notify({ROOM})
    await asyncio.sleep(0)
    assert (instances.reads, metrics.presence_rebuilds) == (0, 0)
