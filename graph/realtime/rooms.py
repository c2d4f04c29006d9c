"""Rooms (`task:<id>`, `project:<id>`) and their subscribers' bounded queues: local fan-out."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Protocol

from db.models import EventType
from graph.errors import SlowConsumer, TaskliveError
from graph.realtime.records import EventRecord


def task_room(task_id: str) -> str:
    """The room of one task: its subscribers and its viewers."""
    return f"task:{task_id}"


def project_room(project_id: str) -> str:
    """The room of one project: every task of it, its subscribers and its viewers."""
    return f"project:{project_id}"


class LiveSubscription:
    """One subscription's place in a room: a bounded queue of events, and its fate."""

    __slots__ = (
        "_ready",
        "admin",
        "connection",
        "ended",
        "limit",
        "on_overflow",
        "operation",
        "project_id",
        "queue",
        "room",
        "task_id",
        "types",
        "user_id",
    )

    def __init__(
        self,
        *,
        user_id: str,
        project_id: str,
        room: str,
        operation: str,
        admin: bool = False,
        task_id: str | None = None,
        types: frozenset[EventType] | None = None,
        limit: int = 1000,
        connection: object | None = None,
        on_overflow: Callable[[LiveSubscription], None] | None = None,
    ) -> None:
        self.user_id = user_id
        self.admin = admin
        self.project_id = project_id
        self.room = room
        self.operation = operation
        self.task_id = task_id
        self.types = types
        self.limit = limit
        self.connection = connection
        self.on_overflow = on_overflow
        self.queue: deque[tuple[EventRecord, float]] = deque()
        self.ended: TaskliveError | None = None
        self._ready = asyncio.Event()

    def push(self, record: EventRecord, received_at: float) -> bool:
        if self.ended is not None:
            return False
        if self.types is not None and record.type not in self.types:
            return False
        if len(self.queue) >= self.limit:
            self.end(SlowConsumer())
            if self.on_overflow is not None:
                self.on_overflow(self)
            return False
        self.queue.append((record, received_at))
        self._ready.set()
        return True

    def end(self, error: TaskliveError) -> None:
        """End the subscription with `error`, ahead of anything still queued."""
        if self.ended is None:
            self.ended = error
            self.queue.clear()
            self._ready.set()

    async def next(self) -> tuple[EventRecord, float]:
        while not self.queue:
            if self.ended is not None:
                raise self.ended
            self._ready.clear()
            await self._ready.wait()
        if self.ended is not None:
            raise self.ended
        return self.queue.popleft()


class Viewer(Protocol):
    """Someone in a room: counted in presence, cut off when they lose access."""

    user_id: str
    project_id: str
    room: str
    admin: bool
    operation: str

    def end(self, error: TaskliveError) -> None: ...


class RoomRegistry:
    """Sinks receive a room's events; viewers are who is in it (often the same objects);
    guarded are the subscriptions a removal from their project ends, by (project, user)."""

    def __init__(self) -> None:
        self.sinks: dict[str, set[LiveSubscription]] = defaultdict(set)
        self.viewers: dict[str, set[Viewer]] = defaultdict(set)
        self.guarded: dict[str, set[Viewer]] = defaultdict(set)

    def add_sink(self, sub: LiveSubscription) -> None:
        self.sinks[sub.room].add(sub)

    def remove_sink(self, sub: LiveSubscription) -> None:
        _discard(self.sinks, sub.room, sub)

    def add_viewer(self, viewer: Viewer) -> None:
        self.viewers[viewer.room].add(viewer)

    def remove_viewer(self, viewer: Viewer) -> None:
        _discard(self.viewers, viewer.room, viewer)

    def guard(self, viewer: Viewer) -> None:
        self.guarded[_member_key(viewer.project_id, viewer.user_id)].add(viewer)

    def unguard(self, viewer: Viewer) -> None:
        _discard(self.guarded, _member_key(viewer.project_id, viewer.user_id), viewer)

    def of_user(self, user_id: str, project_id: str) -> list[Viewer]:
        """The user's subscriptions to the project that a removal must end."""
        return list(self.guarded.get(_member_key(project_id, user_id), ()))

    def deliver(self, record: EventRecord) -> int:
        """Push a task event to every sink of its project's and its task's rooms."""
        if record.is_membership:
            return 0  # task consumers never see membership changes
        received_at = time.monotonic()
        delivered = 0
        for room in (project_room(record.project_id), task_room(str(record.task_id))):
            for sub in list(self.sinks.get(room, ())):
                delivered += sub.push(record, received_at)
        return delivered

    def presence(self) -> dict[str, dict[str, int]]:
        """room -> user id -> that user's subscriptions in the room."""
        result: dict[str, dict[str, int]] = {}
        for room, members in self.viewers.items():
            users: dict[str, int] = defaultdict(int)
            for viewer in members:
                users[viewer.user_id] += 1
            result[room] = dict(users)
        return result

    def count(self) -> int:
        return sum(len(m) for m in self.viewers.values())


def _member_key(project_id: str, user_id: str) -> str:
    return f"{project_id}\n{user_id}"


def _discard(index: dict[str, set[Any]], room: str, item: object) -> None:
    members = index.get(room)
    if members is not None:
        members.discard(item)
        if not members:
            del index[room]
