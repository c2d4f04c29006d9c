"""Who may follow what, cached for the live layer and for requests, bounded by the event log.

Requests ask two questions: which project a task is in (never changes, until the task is
deleted) and the user's role in it. Thousands of tabs asking the same thing would ask the
database the same thing, so answers are kept for `ttl` seconds. Each answer remembers the
project's last event sequence number as of its read. A membership change or a task
deletion is an event of the project's log: heard from the broker, it drops the entry at
once; lost by the broker, `check`, which the sequencer runs with its periodic check of the
log (every `gap_check_interval_seconds`), finds it there and drops the entry then. So no
entry is older than the log by more than one check interval (plus the check's own read),
whichever instance made the change and whatever the broker did.

Subscriptions and writes do not rely on this cache for the decision that matters: a
subscription reads the role from the database after it is registered where a removal
finds it, and a write reads it again under the project's lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

from db.models import EventType, ProjectRole
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.session import Database
from graph.realtime.records import EventRecord

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()
CHECK_CHUNK = 500


class _Expiring(Generic[K, V]):
    """An LRU of (seq, value) with a time to live; seq is the project's log position."""

    def __init__(self, *, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._items: OrderedDict[K, tuple[float, int, V]] = OrderedDict()

    def get(self, key: K, *, since: int = 0) -> V | object:
        """The value, if it is live and was read at log position `since` or later."""
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic() or item[1] < since:
            return _MISSING
        return item[2]

    def put(self, key: K, seq: int, value: V) -> None:
        self._items[key] = (time.monotonic() + self._ttl, seq, value)
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: K, *, before: int | None = None) -> None:
        """Forget `key` (only if it was read before log position `before`, when given)."""
        item = self._items.get(key)
        if item is not None and (before is None or item[1] < before):
            del self._items[key]

    def seqs(self) -> list[tuple[K, int]]:
        """The live entries and the log positions they were read at."""
        now = time.monotonic()
        return [(key, item[1]) for key, item in self._items.items() if item[0] >= now]

    def advance(self, key: K, *, examined: tuple[int, int]) -> None:
        """The log from `examined[0]` to `examined[1]` shows nothing that changes `key`."""
        item = self._items.get(key)
        # An entry read before the examined range (a slow read put meanwhile) stays as it is.
        if item is not None and examined[0] <= item[1] < examined[1]:
            self._items[key] = (item[0], examined[1], item[2])

    def clear(self) -> None:
        self._items.clear()


class AccessCache:
    def __init__(self, db: Database, *, ttl: float = 30.0, size: int = 100_000) -> None:
        self._db = db
        self._roles: _Expiring[tuple[str, str], ProjectRole | None] = _Expiring(ttl=ttl, size=size)
        # Per task: (project, whose seq is stored); None for a task that does not exist.
        self._tasks: _Expiring[str, str | None] = _Expiring(ttl=ttl, size=size)

    async def role(self, user_id: str, project_id: str, *, since: int = 0) -> ProjectRole | None:
        """The role; from the cache only if read at log position `since` or later.

        A guarded subscription (RealtimeHub.guarded) passes the last position this instance
        has delivered for the project: a removal up to it dropped the entry when delivered,
        one after it is yet to be delivered and ends the subscription then, so an entry read
        at or after it is as good as a new read.
        """
        cached = self._roles.get((user_id, project_id), since=since)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        return await self.fresh_role(user_id, project_id)

    async def fresh_role(self, user_id: str, project_id: str) -> ProjectRole | None:
        """The role as the database has it now (and cached from there)."""
        async with self._db.read() as session:
            found = await project_repo.get_role_at(session, project_id=project_id, user_id=user_id)
        if found is None:
            return None  # no such project: nothing to cache against its log
        seq, role = found
        self._roles.put((user_id, project_id), seq, role)
        return role

    async def task_project(self, task_id: str) -> str | None:
        """The project of a task, or None when there is no such task."""
        cached = self._tasks.get(task_id)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        async with self._db.read() as session:
            found = await task_repo.get_project_at(session, task_id=task_id)
        seq, project_id = found if found is not None else (0, None)
        self._tasks.put(task_id, seq, project_id)
        return project_id

    def forget(self, record: EventRecord) -> None:
        """An event of the log: drop the entries read before it that it changes."""
        if record.subject is None:
            return
        if record.is_membership:
            self._roles.pop((record.subject, record.project_id), before=record.seq)
        elif record.type is EventType.DELETED:
            self._tasks.pop(record.subject, before=record.seq)

    def clear(self) -> None:
        self._roles.clear()
        self._tasks.clear()

    # -- bounding staleness by the log

    def _positions(self) -> dict[str, int]:
        """Per project, the oldest log position an entry was read at."""
        oldest: dict[str, int] = {}
        for (_, project_id), seq in self._roles.seqs():
            oldest[project_id] = min(seq, oldest.get(project_id, seq))
        for task_id, seq in self._tasks.seqs():
            found = self._tasks.get(task_id)
            if isinstance(found, str):
                oldest[found] = min(seq, oldest.get(found, seq))
        return oldest

    async def check(self) -> None:
        """Drop every entry that a later event of its project's log changed."""
        oldest = self._positions()
        projects = sorted(oldest)
        for start in range(0, len(projects), CHECK_CHUNK):
            chunk = projects[start : start + CHECK_CHUNK]
            async with self._db.read() as session:
                seqs = await event_repo.last_seqs(session, project_ids=chunk)
                moved = {p: oldest[p] for p in chunk if seqs.get(p, oldest[p]) > oldest[p]}
                rows = await event_repo.get_access_changes(session, after=moved)
            for row in rows:
                self.forget(EventRecord.from_model(row))
            self._advance({p: (oldest[p], seq) for p, seq in seqs.items()})

    def _advance(self, examined: dict[str, tuple[int, int]]) -> None:
        """Entries that the examined ranges of their projects' logs leave valid: now as of
        the end of those ranges, so that the next check reads from there."""
        for (user_id, project_id), _ in self._roles.seqs():
            if project_id in examined:
                self._roles.advance((user_id, project_id), examined=examined[project_id])
        for task_id, _ in self._tasks.seqs():
            found = self._tasks.get(task_id)
            if isinstance(found, str) and found in examined:
                self._tasks.advance(task_id, examined=examined[found])
