"""Joining a subscription group: nobody is in before the group's queue is in the room.

A member's replay of the log must not begin before the group follows the room live: a
replay that ended earlier would miss the events committed between its last read and the
baseline of the group's queue. Found by the chaos run (bench/chaos.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from graph.ws.fastpath import FastPath

KEY = ("subscription { taskEvents(projectId: $p) { cursor } }", None, b"{}")


class StartingGroup:
    """Stands in for a SubscriptionGroup whose queue is not in the room yet."""

    def __init__(self) -> None:
        self.key = KEY
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members: list[Any] = []
        self.stopped = False
        self.task: asyncio.Task[None] | None = None

    def add(self, member: Any) -> None:
        self.members.append(member)

    def remove(self, member: Any) -> None:
        self.members.remove(member)
        self.stopped = not self.members


def fast_path(group: StartingGroup) -> FastPath:
    fast = FastPath.__new__(FastPath)
    fast._groups = {}
    fast._starting = {}
    fast._start_group = lambda *_: group  # type: ignore[method-assign,assignment]
    return fast


async def test_a_second_member_waits_until_the_group_is_ready() -> None:
    group = StartingGroup()
    fast = fast_path(group)
    first = asyncio.create_task(fast._join(KEY, None, {}, None, "first"))  # type: ignore[arg-type]
    second = asyncio.create_task(fast._join(KEY, None, {}, None, "second"))  # type: ignore[arg-type]
    done, _ = await asyncio.wait({first, second}, timeout=0.2)
    assert not done, "a member joined a group that does not follow the room yet"
    group.ready.set_result(None)
    async with asyncio.timeout(5):
        assert await first is cast(object, group) and await second is cast(object, group)
    assert group.members == ["first", "second"]


async def test_a_group_that_never_starts_is_stopped_and_forgotten() -> None:
    group = StartingGroup()
    fast = fast_path(group)
    first = asyncio.create_task(fast._join(KEY, None, {}, None, "first"))  # type: ignore[arg-type]
    done, _ = await asyncio.wait({first}, timeout=0.05)
    assert not done
    first.cancel()  # the client went away while the group was starting
    async with asyncio.timeout(5):
        await asyncio.gather(first, return_exceptions=True)
    assert group.stopped and not fast._groups and not fast._starting


async def test_a_group_whose_queue_stopped_is_replaced() -> None:
    """A group whose queue overflowed or failed keeps its leaving members a moment; a new
    member gets a new group instead of one that will never deliver."""
    dead, fresh = StartingGroup(), StartingGroup()
    dead.task = asyncio.create_task(asyncio.sleep(0))
    await dead.task
    dead.members.append("leaving")
    fast = fast_path(fresh)
    fast._groups[KEY] = dead  # type: ignore[assignment]
    fresh.ready.set_result(None)
    async with asyncio.timeout(5):
        joined = await fast._join(KEY, None, {}, None, "new")  # type: ignore[arg-type]
    assert (
        joined is cast(object, fresh) and fresh.members == ["new"] and dead.members == ["leaving"]
    )
    assert fast._groups[KEY] is cast(object, fresh)
