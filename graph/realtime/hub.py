"""The live layer's front door: publish committed events, subscribe to rooms, presence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from db.models import EventType
from db.session import Database
from graph.errors import Forbidden
from graph.metrics import ProcessMetrics
from graph.realtime.access import AccessCache
from graph.realtime.bus import EventBus
from graph.realtime.connections import LiveConnection
from graph.realtime.presence import PresenceBoard, RoomWatchers
from graph.realtime.records import EventRecord
from graph.realtime.rooms import LiveSubscription, RoomRegistry, Viewer
from graph.realtime.sequencer import ProjectSequencer
from graph.realtime.snapshot import InstanceSnapshot
from graph.settings import Settings

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_FORBIDDEN = 4403  # the token was refused or has expired


class RealtimeHub:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.instance_id = uuid.uuid4().hex[:12]
        self.started_at = datetime.now(UTC)
        self.metrics = ProcessMetrics()
        self.rooms = RoomRegistry()
        self.connections: dict[str, LiveConnection] = {}
        self.user_connections: dict[str, int] = defaultdict(int)
        self.access = AccessCache(db)
        self.watchers = RoomWatchers(
            metrics=self.metrics,
            changed=lambda: self.presence.mark(),
            instances=lambda: self.presence.instances(),
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self.shutting_down = False
        self.sequencer = ProjectSequencer(
            db,
            deliver=self._deliver,
            metrics=self.metrics,
            check_interval=settings.gap_check_interval_seconds,
            also_check=self.access.check,
        )
        self.bus = EventBus(
            settings.broadcast_url,
            instance_id=self.instance_id,
            on_message=self._on_message,
            on_connected=self._on_connected,
            metrics=self.metrics,
        )
        self.presence = PresenceBoard(
            broadcast_url=settings.broadcast_url,
            instance_id=self.instance_id,
            local=self.snapshot,
            on_changed=self._announce_presence,
            ttl=settings.presence_ttl_seconds,
            refresh=settings.presence_ttl_seconds / 3,
        )

    # -- lifecycle

    async def start(self) -> None:
        self.sequencer.start()
        self.presence.start()
        await self.bus.start()

    async def stop(self) -> None:
        self.shutting_down = True
        await self.close_all(CLOSE_GOING_AWAY, "server shutting down")
        await self.presence.stop()
        await self.bus.stop()
        await self.sequencer.stop()
        for task in list(self._tasks):
            task.cancel()

    async def close_all(self, code: int, reason: str) -> None:
        """Close every WebSocket with `code`, and end every HTTP subscription stream."""
        connections = list(self.connections.values())
        if connections:
            log.info("closing %d connection(s) with %d", len(connections), code)
            await asyncio.gather(*(c.close(code, reason) for c in connections))

    async def ready(self) -> bool:
        return self.bus.connected.is_set()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- publishing and receiving

    async def publish(self, records: Sequence[EventRecord]) -> None:
        """Publish committed events; failures are counted and repaired from the event log."""
        for record in records:
            if record.is_membership:
                self._membership_changed(record)  # this instance need not wait for the broker
            try:
                await self.bus.publish(record.to_json())
                self.metrics.events_published += 1
            except Exception as exc:
                self.metrics.publish_failures += 1
                log.warning("publish of event %s/%d failed: %r", record.project_id, record.seq, exc)
                # Local subscribers need not wait for the periodic check.
                self.sequencer.repair(record.project_id, upto=record.seq)

    def _on_message(self, message: str) -> None:
        data = orjson.loads(message)
        kind = data.get("k")
        if kind == "e":
            self.metrics.events_received += 1
            record = EventRecord.from_dict(data)
            # Even for projects nobody here follows: requests use the cached roles too.
            self.access.forget(record)
            self.sequencer.offer(record)
        elif kind == "pr":
            self.watchers.notify(set(data.get("r", ())))

    def _deliver(self, record: EventRecord) -> None:
        """The sequencer's output: every event of a followed project, once, in order."""
        if record.is_membership:
            self._membership_changed(record)
        else:
            self.rooms.deliver(record)

    async def _on_connected(self) -> None:
        """After (re)connecting: fetch what was missed (membership changes too)."""
        self.access.clear()  # events may have been missed while away
        try:
            await self.sequencer.check()
        except Exception:
            log.exception("backfill after broker reconnect failed; the periodic check will retry")
        self.presence.mark()

    # -- access on open subscriptions

    def _membership_changed(self, record: EventRecord) -> None:
        """A membership change of the log: forget cached roles; a removal ends subscriptions.

        Synchronous, so that no event after the removal reaches the removed member's
        subscriptions: the sequencer delivers the project's next event only after this.
        """
        self.access.forget(record)
        if record.type is EventType.MEMBER_REMOVED and record.member_id is not None:
            self._revoke(record.project_id, record.member_id)

    def _revoke(self, project_id: str, user_id: str) -> None:
        """End every subscription of `user_id` to the project's rooms with FORBIDDEN."""
        for viewer in self.rooms.of_user(user_id, project_id):
            viewer.end(Forbidden("you are no longer a member of this project"))

    # -- subscriptions and connections

    def connect(self, connection: LiveConnection, *, expires_at: datetime | None = None) -> None:
        """Count the connection (limits, presence, stats); close it when its token expires."""
        self.connections[connection.id] = connection
        self.user_connections[connection.user_id] += 1
        self.metrics.connections = len(self.connections)
        self.presence.mark()
        if expires_at is not None:
            delay = max(0.0, expires_at.timestamp() - time.time())
            loop = asyncio.get_running_loop()
            connection.expiry = loop.call_later(delay, self.expire, connection)

    def disconnect(self, connection: LiveConnection) -> None:
        if self.connections.pop(connection.id, None) is not None:
            self.user_connections[connection.user_id] -= 1
            if self.user_connections[connection.user_id] <= 0:
                del self.user_connections[connection.user_id]
            self.metrics.connections = len(self.connections)
            self.presence.mark()
        if connection.expiry is not None:
            connection.expiry.cancel()

    def expire(self, connection: LiveConnection) -> None:
        """The connection's token expired: close it with 4403 (an HTTP stream ends with an
        UNAUTHENTICATED error) so the client re-authenticates and resumes."""
        log.info("token of connection %s (%s) expired; closing", connection.id, connection.user_id)
        self.spawn(connection.close(CLOSE_FORBIDDEN, "token expired"))

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        *,
        user_id: str,
        admin: bool,
        project_id: str,
        room: str,
        operation: str,
        task_id: str | None = None,
        types: frozenset[EventType] | None = None,
        connection: LiveConnection | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[LiveSubscription]:
        """A bounded queue of the room's events, `guarded` before the caller authorises it."""
        sub = LiveSubscription(
            user_id=user_id,
            project_id=project_id,
            room=room,
            operation=operation,
            admin=admin,
            task_id=task_id,
            types=types,
            limit=limit or self.settings.subscriber_queue_limit,
            connection=connection,
            on_overflow=self._on_overflow,
        )
        self.rooms.add_sink(sub)
        try:
            async with self.guarded(sub):
                yield sub
        finally:
            self.rooms.remove_sink(sub)

    @contextlib.asynccontextmanager
    async def guarded(self, viewer: Viewer) -> AsyncIterator[None]:
        """Follow the viewer's project and let a removal from it end the viewer, until it ends.

        Entered before the subscription reads the user's role from the database: a removal
        that this read does not see commits later, so it takes a later sequence number than
        the sequencer's baseline and reaches `_revoke`, which finds the viewer here.
        """
        if not viewer.admin:
            self.rooms.guard(viewer)
        tracked = False
        try:
            await self.sequencer.track(viewer.project_id)
            tracked = True
            yield
        finally:
            self.rooms.unguard(viewer)
            if tracked:
                self.sequencer.untrack(viewer.project_id)

    @contextlib.contextmanager
    def viewing(self, viewer: Viewer) -> Iterator[None]:
        """Count an authorised subscription in its room's presence while it lasts."""
        self.add_viewer(viewer)
        try:
            yield
        finally:
            self.remove_viewer(viewer)

    def add_viewer(self, viewer: Viewer) -> None:
        self.rooms.add_viewer(viewer)
        self.metrics.subscriptions[viewer.operation] += 1
        self.presence.mark(viewer.room)

    def remove_viewer(self, viewer: Viewer) -> None:
        self.rooms.remove_viewer(viewer)
        self.metrics.subscriptions[viewer.operation] -= 1
        self.presence.mark(viewer.room)

    def _on_overflow(self, sub: LiveSubscription) -> None:
        connection = sub.connection
        self.close_slow(connection if isinstance(connection, LiveConnection) else None)

    def close_slow(self, connection: LiveConnection | None) -> None:
        """A subscriber fell too far behind: close its socket with 1013 (it will resume)."""
        self.metrics.slow_consumer_closes += 1
        if connection is None:
            return  # an HTTP stream: its subscription ends with the error instead
        log.warning(
            "closing connection %s of %s: too far behind", connection.id, connection.user_id
        )
        self.spawn(connection.close(CLOSE_TRY_AGAIN_LATER, "subscriber too far behind"))

    # -- presence

    def snapshot(self) -> InstanceSnapshot:
        return InstanceSnapshot(
            id=self.instance_id,
            started_at=self.started_at,
            connections=len(self.connections),
            subscriptions=self.rooms.count() + self.watchers.count(),
            rooms=self.rooms.presence(),
            users=dict(self.user_connections),
        )

    async def instances(self) -> list[InstanceSnapshot]:
        return await self.presence.instances()

    async def viewers(self, room: str) -> list[str]:
        users: set[str] = set()
        for instance in await self.instances():
            users.update(u for u, n in instance.rooms.get(room, {}).items() if n > 0)
        return sorted(users)

    async def _announce_presence(self, rooms: set[str]) -> None:
        try:
            await self.bus.publish(orjson.dumps({"k": "pr", "r": sorted(rooms)}).decode())
        except Exception:
            self.watchers.notify(rooms)  # at least this instance's watchers hear of it

    def metrics_text(self) -> str:
        return self.metrics.render()
