"""The broadcaster connection: one supervised subscription per process.

broadcaster 0.3.1 neither reconnects nor reports a dead Redis listener, so the bus proves
its own subscription alive with a heartbeat that must come back through the broker; when
it does not, or anything fails, it tears the connection down and reconnects with
exponential backoff and jitter, then asks the owner to backfill from the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from broadcaster import Broadcast

from graph.errors import BrokerUnavailable
from graph.metrics import ProcessMetrics
from graph.realtime.backends import broadcast_for
from graph.realtime.cancellation import cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = "tasklive.events"


class EventBus:
    def __init__(
        self,
        url: str,
        *,
        instance_id: str,
        on_message: Callable[[str], None],
        on_connected: Callable[[], Coroutine[Any, Any, None]],
        metrics: ProcessMetrics,
        heartbeat_interval: float = 1.0,
        heartbeat_timeout: float = 3.0,
        max_backoff: float = 5.0,
        publish_timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.instance_id = instance_id
        self._on_message = on_message
        self._on_connected = on_connected
        self._metrics = metrics
        self._heartbeat_interval = heartbeat_interval
        self._heartbeat_timeout = heartbeat_timeout
        self._max_backoff = max_backoff
        self._publish_timeout = publish_timeout
        self._broadcast: Broadcast | None = None
        self._task: asyncio.Task[None] | None = None
        self._backfill: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._stopping = False
        self._heartbeat = orjson.dumps({"k": "hb", "i": instance_id}).decode()

    async def start(self, *, wait: float = 5.0) -> None:
        self._task = asyncio.create_task(self._supervise(), name="tasklive-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout=wait)
        if not self.connected.is_set():
            log.warning("broker %s not reachable yet; retrying in the background", self.url)

    async def stop(self) -> None:
        # The flag too: a cancellation that lands in redis-py or broadcaster code may come
        # out as a connection error, which the supervisor would answer with a reconnect.
        self._stopping = True
        await cancel_and_wait(self._backfill)
        await cancel_and_wait(self._task)
        self.connected.clear()

    async def publish(self, message: str) -> None:
        broadcast = self._broadcast
        if broadcast is None or not self.connected.is_set():
            raise BrokerUnavailable(f"not connected to {self.url}")
        await asyncio.wait_for(broadcast.publish(CHANNEL, message), timeout=self._publish_timeout)

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            started = time.monotonic()
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broker connection lost or refused: %r", exc)
            self.connected.clear()
            if time.monotonic() - started > 10 * self._heartbeat_timeout:
                attempt = 0  # it was up for a while: start the backoff again
            delay = min(self._max_backoff, 0.1 * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            self._metrics.broker_reconnects += 1
            await asyncio.sleep(delay)

    async def _run_once(self) -> None:
        broadcast = broadcast_for(self.url)
        await asyncio.wait_for(broadcast.connect(), timeout=5)
        try:
            async with broadcast.subscribe(CHANNEL) as subscriber:
                self._broadcast = broadcast
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._send_heartbeats(broadcast))
                    consumer = group.create_task(self._consume(subscriber))
                    await consumer
        finally:
            self._broadcast = None
            self.connected.clear()
            # Not BaseException: a cancellation here (shutdown) must end the supervisor.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(broadcast.disconnect(), timeout=2)

    async def _send_heartbeats(self, broadcast: Broadcast) -> None:
        while True:
            await asyncio.wait_for(
                broadcast.publish(CHANNEL, self._heartbeat), timeout=self._publish_timeout
            )
            await asyncio.sleep(self._heartbeat_interval)

    async def _consume(self, subscriber: object) -> None:
        last_heartbeat = time.monotonic()
        get = subscriber.get  # type: ignore[attr-defined]
        while True:
            remaining = self._heartbeat_timeout - (time.monotonic() - last_heartbeat)
            if remaining <= 0:
                raise BrokerUnavailable("own heartbeat did not come back through the broker")
            try:
                event = await asyncio.wait_for(get(), timeout=remaining)
            except TimeoutError:
                continue
            message = event.message
            if message == self._heartbeat:
                last_heartbeat = time.monotonic()
                if not self.connected.is_set():
                    self.connected.set()
                    # Backfill beside the consumer, so heartbeats keep flowing meanwhile.
                    self._backfill = asyncio.create_task(self._on_connected())
                continue
            try:
                self._on_message(message)
            except Exception:
                log.exception("dropping a broker message that could not be handled")
