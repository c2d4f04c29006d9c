"""The live layer's front door: publish committed events, subscribe to rooms, presence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from db.models import EventType
from db.repositories import projects as project_repo
from db.session import Database
from graph.errors import Forbidden
from graph.realtime import leakfix
from graph.realtime.access import AccessCache
from graph.realtime.bus import EventBus
from graph.realtime.connections import LiveConnection
from graph.realtime.metrics import RealtimeMetrics
from graph.realtime.presence import PresenceBoard, RoomWatchers
from graph.realtime.records import EventRecord
from graph.realtime.rooms import LiveSubscription, RoomRegistry, Viewer
from graph.realtime.sequencer import ProjectSequencer
from graph.realtime.snapshot import InstanceSnapshot
from graph.settings import Settings

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013


class RealtimeHub:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.instance_id = uuid.uuid4().hex[:12]
        self.started_at = datetime.now(UTC)
        self.metrics = RealtimeMetrics()
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
        if not leakfix.install():
            log.warning("graphql-core has no per-event executor to patch; leak fix not applied")
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
        connections = list(self.connections.values())
        if connections:
            log.info("closing %d WebSocket(s) with %d", len(connections), code)
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
            if record.type is EventType.DELETED:
                self.access.task_deleted(record.task_id)
            self.sequencer.offer(record)
        elif kind == "m":
            self.access.member_changed(str(data["p"]), str(data["u"]))
            self.spawn(self._recheck(str(data["p"]), str(data["u"])))
        elif kind == "pr":
            self.watchers.notify(set(data.get("r", ())))

    def _deliver(self, record: EventRecord) -> None:
        self.rooms.deliver(record)

    async def _on_connected(self) -> None:
        """After (re)connecting: fetch what was missed, re-check who may still see what."""
        self.access.clear()  # announcements may have been missed while away
        try:
            await self.sequencer.check()
            await self._recheck_all()
        except Exception:
            log.exception("backfill after broker reconnect failed; the periodic check will retry")
        self.presence.mark()

    # -- access on open subscriptions

    async def membership_changed(self, project_id: str, user_id: str) -> None:
        self.access.member_changed(project_id, user_id)
        await self._recheck(project_id, user_id)
        with contextlib.suppress(Exception):
            await self.bus.publish(orjson.dumps({"k": "m", "p": project_id, "u": user_id}).decode())

    async def _recheck(self, project_id: str, user_id: str) -> None:
        subs = [s for s in self.rooms.of_user(user_id, project_id) if not s.admin]
        if not subs and not self.watchers.watching(project_id, user_id):
            return
        async with self.db.read() as session:
            role = await project_repo.get_role(session, project_id=project_id, user_id=user_id)
        if role is None:
            for sub in subs:
                sub.end(Forbidden("you are no longer a member of this project"))
            self.watchers.end_user(
                project_id, user_id, Forbidden("you are no longer a member of this project")
            )

    async def _recheck_all(self) -> None:
        pairs = {(s.project_id, s.user_id) for s in self.rooms.all()} | self.watchers.members()
        for project_id, user_id in pairs:
            await self._recheck(project_id, user_id)

    # -- subscriptions and connections

    def connect(self, connection: LiveConnection) -> None:
        self.connections[connection.id] = connection
        self.user_connections[connection.user_id] += 1
        self.metrics.connections = len(self.connections)
        self.presence.mark()

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
        """The connection's token expired: close it with 4403 so the client reconnects."""
        log.info("token of connection %s (%s) expired; closing", connection.id, connection.user_id)
        self.spawn(connection.close(4403, "token expired"))

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
        viewer: bool = True,
        limit: int | None = None,
    ) -> AsyncIterator[LiveSubscription]:
        """A bounded queue of the room's events; `viewer` counts it in presence too."""
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
        if viewer:
            self.add_viewer(sub)
        tracked = False
        try:
            await self.sequencer.track(project_id)
            tracked = True
            yield sub
        finally:
            self.rooms.remove_sink(sub)
            if viewer:
                self.remove_viewer(sub)
            if tracked:
                self.sequencer.untrack(project_id)

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
