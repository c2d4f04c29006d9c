"""Presence across instances: each instance's rooms and connections, shared through Redis.

Each instance writes its snapshot under its own key with a TTL and refreshes it, so the
figures of an instance that crashes vanish within `ttl` seconds; a clean shutdown deletes
the key at once. With `memory://` there is one instance and nothing to share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

import orjson
from redis import asyncio as aioredis

from graph.realtime.cancellation import cancel_and_wait
from graph.realtime.snapshot import InstanceSnapshot

log = logging.getLogger(__name__)

KEY_PREFIX = "tasklive:instance:"


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


class RoomWatchers:
    """Events that `viewersChanged` subscriptions wait on, one set per room.

    `counts` (the metrics' subscriptions by operation) counts them; `changed` is told when
    their number changes, so that the instance's published figures follow.
    """

    def __init__(self, *, counts: dict[str, int], changed: Callable[[], None]) -> None:
        self._events: dict[str, set[asyncio.Event]] = {}
        self._counts = counts
        self._changed = changed

    def count(self) -> int:
        """Open `viewersChanged` subscriptions."""
        return sum(len(events) for events in self._events.values())

    def notify(self, rooms: set[str]) -> None:
        for room in rooms:
            for event in self._events.get(room, ()):
                event.set()

    @contextlib.contextmanager
    def watch(self, room: str) -> Iterator[asyncio.Event]:
        """An asyncio.Event set whenever the room's viewers may have changed."""
        event = asyncio.Event()
        self._events.setdefault(room, set()).add(event)
        self._counts["viewersChanged"] += 1
        self._changed()
        try:
            yield event
        finally:
            self._counts["viewersChanged"] -= 1
            self._changed()
            watchers = self._events.get(room)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._events[room]
