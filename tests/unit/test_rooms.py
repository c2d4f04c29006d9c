"""graph/realtime/rooms.py: a subscription's bounded queue, and the registry that fans events
out to rooms, guards memberships and counts presence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from db.models import EventType
from graph.errors import Forbidden, SlowConsumer, TaskliveError
from graph.realtime.records import EventRecord
from graph.realtime.rooms import LiveSubscription, RoomRegistry, project_room, task_room

WAIT = 2.0


def record(
    seq: int, *, project: str = "p1", task: str = "t1", type: EventType = EventType.UPDATED
) -> EventRecord:
    membership = type in {EventType.MEMBER_ADDED, EventType.MEMBER_REMOVED}
    return EventRecord(
        project_id=project,
        seq=seq,
        task_id=None if membership else task,
        type=type,
        actor_id="alice",
        occurred_at=datetime.now(UTC),
        member_id="bob" if membership else None,
    )


def subscription(
    room: str = "project:p1",
    *,
    user: str = "alice",
    project: str = "p1",
    types: frozenset[EventType] | None = None,
    limit: int = 1000,
    on_overflow: Callable[[LiveSubscription], None] | None = None,
) -> LiveSubscription:
    return LiveSubscription(
        user_id=user,
        project_id=project,
        room=room,
        operation="taskEvents",
        types=types,
        limit=limit,
        on_overflow=on_overflow,
    )


def test_room_names() -> None:
    assert task_room("t1") == "task:t1"
    assert project_room("p1") == "project:p1"


async def test_pushed_events_come_out_in_order_with_their_arrival_time() -> None:
    sub = subscription()
    assert sub.push(record(1), 10.0) and sub.push(record(2), 11.0)
    async with asyncio.timeout(WAIT):
        first, second = await sub.next(), await sub.next()
    assert (first[0].seq, first[1], second[0].seq, second[1]) == (1, 10.0, 2, 11.0)


async def test_next_waits_for_a_push() -> None:
    sub = subscription()
    waiting = asyncio.ensure_future(sub.next())
    await asyncio.sleep(0)
    assert not waiting.done()
    sub.push(record(5), 1.0)
    async with asyncio.timeout(WAIT):
        got, _ = await waiting
    assert got.seq == 5


def test_a_type_filter_drops_other_events() -> None:
    sub = subscription(types=frozenset({EventType.CREATED}))
    assert not sub.push(record(1), 0.0)
    assert sub.push(record(2, type=EventType.CREATED), 0.0)
    assert [r.seq for r, _ in sub.queue] == [2]


async def test_overflow_ends_the_subscription_as_a_slow_consumer_and_tells_its_owner() -> None:
    overflowed: list[LiveSubscription] = []
    sub = subscription(limit=2, on_overflow=overflowed.append)
    assert sub.push(record(1), 0.0) and sub.push(record(2), 0.0)
    assert not sub.push(record(3), 0.0)
    assert overflowed == [sub]
    assert isinstance(sub.ended, SlowConsumer)
    assert not sub.queue  # what was queued is dropped: the client resumes by cursor
    with pytest.raises(SlowConsumer):
        async with asyncio.timeout(WAIT):
            await sub.next()


def test_an_ended_subscription_takes_nothing_more() -> None:
    overflowed: list[LiveSubscription] = []
    sub = subscription(limit=1, on_overflow=overflowed.append)
    sub.end(Forbidden("removed"))
    assert not sub.push(record(1), 0.0)
    assert overflowed == []


async def test_end_goes_ahead_of_queued_events_and_wakes_the_reader() -> None:
    sub = subscription()
    waiting = asyncio.ensure_future(sub.next())
    await asyncio.sleep(0)
    sub.end(Forbidden("removed from the project"))
    with pytest.raises(Forbidden):
        async with asyncio.timeout(WAIT):
            await waiting
    queued = subscription()
    queued.push(record(1), 0.0)
    queued.end(Forbidden("removed"))
    with pytest.raises(Forbidden):
        await queued.next()


def test_the_first_end_wins() -> None:
    sub = subscription()
    first = Forbidden("first")
    sub.end(first)
    sub.end(SlowConsumer())
    assert sub.ended is first


def test_deliver_reaches_the_project_and_the_task_rooms_only() -> None:
    rooms = RoomRegistry()
    on_project = subscription("project:p1")
    on_task = subscription("task:t1")
    other_task = subscription("task:t2")
    other_project = subscription("project:p2", project="p2")
    for sub in (on_project, on_task, other_task, other_project):
        rooms.add_sink(sub)
    assert rooms.deliver(record(1)) == 2
    assert [len(s.queue) for s in (on_project, on_task, other_task, other_project)] == [1, 1, 0, 0]


def test_deliver_skips_membership_changes() -> None:
    rooms = RoomRegistry()
    sub = subscription()
    rooms.add_sink(sub)
    assert rooms.deliver(record(1, type=EventType.MEMBER_REMOVED)) == 0
    assert not sub.queue


def test_deliver_counts_only_what_was_taken() -> None:
    rooms = RoomRegistry()
    created_only = subscription(types=frozenset({EventType.CREATED}))
    everything = subscription()
    rooms.add_sink(created_only)
    rooms.add_sink(everything)
    assert rooms.deliver(record(1)) == 1


def test_a_sink_that_overflows_while_delivering_leaves_the_others_served() -> None:
    rooms = RoomRegistry()
    slow = subscription(limit=1, on_overflow=rooms.remove_sink)
    fast = subscription(limit=10)
    rooms.add_sink(slow)
    rooms.add_sink(fast)
    rooms.deliver(record(1))
    rooms.deliver(record(2))  # slow overflows and removes itself mid-loop
    assert len(fast.queue) == 2
    assert rooms.sinks["project:p1"] == {fast}


def test_removing_the_last_sink_forgets_the_room() -> None:
    rooms = RoomRegistry()
    sub = subscription()
    rooms.add_sink(sub)
    rooms.remove_sink(sub)
    rooms.remove_sink(sub)  # twice is harmless
    assert "project:p1" not in rooms.sinks
    assert rooms.deliver(record(1)) == 0


def test_of_user_finds_the_guarded_subscriptions_of_one_member_and_project() -> None:
    rooms = RoomRegistry()
    alice_p1 = subscription(user="alice", project="p1")
    alice_task = subscription("task:t1", user="alice", project="p1")
    alice_p2 = subscription("project:p2", user="alice", project="p2")
    bob_p1 = subscription(user="bob", project="p1")
    for sub in (alice_p1, alice_task, alice_p2, bob_p1):
        rooms.guard(sub)
    assert set(rooms.of_user("alice", "p1")) == {alice_p1, alice_task}
    assert rooms.of_user("alice", "p3") == []
    rooms.unguard(alice_p1)
    rooms.unguard(alice_task)
    assert rooms.of_user("alice", "p1") == []
    assert rooms.of_user("bob", "p1") == [bob_p1]


def test_a_user_and_project_that_contain_each_other_do_not_collide() -> None:
    rooms = RoomRegistry()
    sub = subscription(user="a:b", project="c")
    rooms.guard(sub)
    assert rooms.of_user("b", "c:a") == [] and rooms.of_user("a:b", "c") == [sub]


def test_presence_counts_each_users_subscriptions_per_room() -> None:
    rooms = RoomRegistry()
    viewers = [
        subscription("task:t1", user="alice"),
        subscription("task:t1", user="alice"),
        subscription("task:t1", user="bob"),
        subscription("project:p1", user="bob"),
    ]
    for viewer in viewers:
        rooms.add_viewer(viewer)
    assert rooms.presence() == {"task:t1": {"alice": 2, "bob": 1}, "project:p1": {"bob": 1}}
    assert rooms.count() == 4
    for viewer in viewers[:3]:
        rooms.remove_viewer(viewer)
    assert rooms.presence() == {"project:p1": {"bob": 1}}
    assert rooms.count() == 1


def test_the_removal_of_a_viewer_ends_only_its_own_subscriptions() -> None:
    rooms = RoomRegistry()
    removed = subscription(user="bob")
    kept = subscription(user="carol")
    for sub in (removed, kept):
        rooms.guard(sub)
    error: TaskliveError = Forbidden("removed from the project")
    for viewer in rooms.of_user("bob", "p1"):
        viewer.end(error)
    assert removed.ended is error and kept.ended is None
