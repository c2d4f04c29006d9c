"""Presence across instances: each instance's rooms and connections, shared through Redis.

Each instance writes its snapshot under its own key with a TTL and refreshes it, so the
figures of an instance that crashes vanish within `ttl` seconds; a clean shutdown deletes
the key at once. With `memory://` there is one instance and nothing to share.

`viewersChanged` costs O(change), not O(watchers): the changed rooms of a burst are
rebuilt together from one read of every instance's snapshot, each room's list once, and
every watcher of the room is handed that same list (and the user rows made from it once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar, cast

import orjson
from redis import asyncio as aioredis

from graph.errors import TaskliveError
from graph.metrics import ProcessMetrics
from graph.realtime.cancellation import cancel_and_wait
from graph.realtime.snapshot import InstanceSnapshot

log = logging.getLogger(__name__)

KEY_PREFIX = "tasklive:instance:"
T = TypeVar("T")


class PresenceBoard:
    def __init__(
        self,
        *,
        broadcast_url: str,
        instance_id: str,
        local: Callable[[], InstanceSnapshot],
        on_changed: Callable[[set[str]], Awaitable[None]],
        ttl: float = 15.0,
        refresh: float = 5.0,
        debounce: float = 0.02,
    ) -> None:
        self._redis: aioredis.Redis | None = None
        if broadcast_url.startswith(("redis://", "rediss://")):
            self._redis = aioredis.Redis.from_url(
                broadcast_url, socket_timeout=2, socket_connect_timeout=2
            )
        self._key = KEY_PREFIX + instance_id
        self._instance_id = instance_id
        self._local = local
        self._on_changed = on_changed
        self._ttl = ttl
        self._refresh = refresh
        self._debounce = debounce
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self._redis is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tasklive-presence")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.delete(self._key), timeout=2)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), timeout=2)

    def mark(self, room: str | None = None) -> None:
        """Something changed (in `room`): write the snapshot and tell the watchers soon."""
        if room is not None:
            self._dirty.add(room)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._refresh)
            await asyncio.sleep(self._debounce)  # coalesce a burst of joins into one write
            self._wake.clear()
            rooms, self._dirty = self._dirty, set()
            await self._write()
            if rooms:
                try:
                    await self._on_changed(rooms)
                except Exception:
                    log.exception("announcing a presence change failed")

    async def _write(self) -> None:
        if self._redis is None:
            return
        try:
            payload = orjson.dumps(self._local().to_dict())
            await self._redis.set(self._key, payload, px=int(self._ttl * 1000))
        except Exception as exc:
            log.warning("could not write presence to Redis: %r", exc)

    async def instances(self) -> list[InstanceSnapshot]:
        local = self._local()
        if self._redis is None:
            return [local]
        try:
            keys = [k async for k in self._redis.scan_iter(match=KEY_PREFIX + "*", count=200)]
            values = await self._redis.mget(keys) if keys else []
        except Exception as exc:
            log.warning("could not read presence from Redis: %r", exc)
            return [local]
        others = []
        for value in values:
            if not value:
                continue
            try:
                snapshot = InstanceSnapshot.from_dict(orjson.loads(value))
            except (ValueError, KeyError, TypeError):
                continue
            if snapshot.id != self._instance_id:
                others.append(snapshot)
        return [local, *others]


class RoomView:
    """A room's viewers as of one rebuild: the same object for every watcher of the room."""

    __slots__ = ("_metrics", "_payload", "room", "user_ids")

    def __init__(self, *, room: str, user_ids: list[str], metrics: ProcessMetrics) -> None:
        self.room = room
        self.user_ids = user_ids
        self._metrics = metrics
        self._payload: asyncio.Future[object] | None = None

    async def payload(self, build: Callable[[list[str]], Awaitable[T]]) -> T:
        """What `build` makes of this list (user rows, say), made once for every watcher.

        Each view is built by one kind of caller (the `viewersChanged` resolver), so the
        first `build` given is the one whose result every later caller receives.
        """
        if self._payload is None:
            self._metrics.presence_payloads += 1
            built = asyncio.ensure_future(build(self.user_ids))
            # Retrieved here so that a failure every waiter gave up on is not reported.
            built.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._payload = cast("asyncio.Future[object]", built)
        # Shielded: a watcher that goes away must not cancel the build its room shares.
        return cast(T, await asyncio.shield(self._payload))


class RoomWatcher:
    """One `viewersChanged` subscription: whose it is, and the last list it was handed."""

    __slots__ = ("_seen", "_wake", "_watched", "admin", "ended", "project_id", "room", "user_id")
    operation = "viewersChanged"

    def __init__(
        self, *, room: str, user_id: str, project_id: str, admin: bool, watched: WatchedRoom
    ) -> None:
        self.room = room
        self.user_id = user_id
        self.project_id = project_id
        self.admin = admin
        self.ended: TaskliveError | None = None
        self._watched = watched
        self._seen: list[str] | None = None
        self._wake = asyncio.Event()

    def end(self, error: TaskliveError) -> None:
        if self.ended is None:
            self.ended = error
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def next(self) -> RoomView:
        """The room's list, first as it is now, then each time it differs from the last."""
        while True:
            if self.ended is not None:
                raise self.ended
            view = self._watched.view
            if view is not None and view.user_ids != self._seen:
                self._seen = view.user_ids
                return view
            self._wake.clear()
            await self._wake.wait()


class WatchedRoom:
    """A room with watchers on this instance: its watchers and its latest list."""

    __slots__ = ("view", "watchers")

    def __init__(self) -> None:
        self.watchers: set[RoomWatcher] = set()
        self.view: RoomView | None = None


class RoomWatchers:
    """The `viewersChanged` subscriptions of this instance, by room, and their rebuilds.

    `notify` marks rooms changed; one task rebuilds every changed room that has watchers
    from one read of the instances' snapshots (`instances`), and wakes a room's watchers
    only when its list differs. The metrics count the watchers (as subscriptions), the
    rebuilds and the payloads; `changed` is told when the number of watchers changes, so
    that the instance's published figures follow.
    """

    def __init__(
        self,
        *,
        metrics: ProcessMetrics,
        changed: Callable[[], None],
        instances: Callable[[], Awaitable[list[InstanceSnapshot]]],
    ) -> None:
        self._rooms: dict[str, WatchedRoom] = {}
        self._metrics = metrics
        self._changed = changed
        self._instances = instances
        self._dirty: set[str] = set()
        self._rebuilding: asyncio.Task[None] | None = None

    def count(self) -> int:
        """Open `viewersChanged` subscriptions."""
        return sum(len(room.watchers) for room in self._rooms.values())

    def notify(self, rooms: set[str]) -> None:
        """The viewers of `rooms` may have changed: rebuild the watched ones soon."""
        watched = rooms & self._rooms.keys()
        if not watched:
            return
        self._dirty |= watched
        if self._rebuilding is None or self._rebuilding.done():
            self._rebuilding = asyncio.get_running_loop().create_task(
                self._rebuild_all(), name="tasklive-presence-rebuild"
            )

    async def _rebuild_all(self) -> None:
        # Changes that arrive during a rebuild are coalesced into the next one.
        while self._dirty:
            rooms, self._dirty = self._dirty, set()
            try:
                await self._rebuild(rooms)
            except Exception:
                log.exception("rebuilding the viewers of %d room(s) failed", len(rooms))

    async def _rebuild(self, rooms: set[str]) -> None:
        instances = await self._instances()
        for name in sorted(rooms):
            room = self._rooms.get(name)
            if room is None:
                continue  # its last watcher left meanwhile
            users: set[str] = set()
            for instance in instances:
                users.update(u for u, n in instance.rooms.get(name, {}).items() if n > 0)
            self._metrics.presence_rebuilds += 1
            user_ids = sorted(users)
            if room.view is not None and room.view.user_ids == user_ids:
                continue
            room.view = RoomView(room=name, user_ids=user_ids, metrics=self._metrics)
            for watcher in room.watchers:
                watcher.wake()

    @contextlib.contextmanager
    def watch(
        self, room: str, *, user_id: str, project_id: str, admin: bool
    ) -> Iterator[RoomWatcher]:
        """Watch the room's viewers (the caller guards the watcher against removals)."""
        watched = self._rooms.get(room)
        if watched is None:
            watched = self._rooms[room] = WatchedRoom()
        watcher = RoomWatcher(
            room=room, user_id=user_id, project_id=project_id, admin=admin, watched=watched
        )
        watched.watchers.add(watcher)
        if watched.view is None:
            self.notify({room})  # the first watcher here: the room's list is read for it
        self._metrics.subscriptions["viewersChanged"] += 1
        self._changed()
        try:
            yield watcher
        finally:
            self._metrics.subscriptions["viewersChanged"] -= 1
            self._changed()
            watched.watchers.discard(watcher)
            if not watched.watchers and self._rooms.get(room) is watched:
                del self._rooms[room]
