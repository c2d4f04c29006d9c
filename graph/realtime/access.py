"""Who may follow what, cached for the live layer's subscribe path.

Opening a subscription asks two questions: which project a task is in (never changes,
until the task is deleted) and the user's role in it. Thousands of tabs opening the same
task would ask the database the same thing, so answers are kept for `ttl` seconds and
dropped at once when a membership change or a deletion is announced on the bus. Open
subscriptions do not rely on this cache: a membership change re-checks them in the
database.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

from db.models import ProjectRole
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.session import Database

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()


class _Expiring(Generic[K, V]):
    def __init__(self, *, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | object:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return _MISSING
        return item[1]

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic() + self._ttl, value)
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class AccessCache:
    def __init__(self, db: Database, *, ttl: float = 30.0, size: int = 100_000) -> None:
        self._db = db
        self._roles: _Expiring[tuple[str, str], ProjectRole | None] = _Expiring(ttl=ttl, size=size)
        self._tasks: _Expiring[str, str | None] = _Expiring(ttl=ttl, size=size)

    async def role(self, user_id: str, project_id: str) -> ProjectRole | None:
        cached = self._roles.get((user_id, project_id))
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        async with self._db.read() as session:
            role = await project_repo.get_role(session, project_id=project_id, user_id=user_id)
        self._roles.put((user_id, project_id), role)
        return role

    async def task_project(self, task_id: str) -> str | None:
        """The project of a task, or None when there is no such task."""
        cached = self._tasks.get(task_id)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        async with self._db.read() as session:
            task = await task_repo.get(session, task_id=task_id)
        project_id = task.project_id if task is not None else None
        self._tasks.put(task_id, project_id)
        return project_id

    def member_changed(self, project_id: str, user_id: str) -> None:
        self._roles.pop((user_id, project_id))

    def task_deleted(self, task_id: str) -> None:
        self._tasks.pop(task_id)

    def clear(self) -> None:
        self._roles.clear()
        self._tasks.clear()
