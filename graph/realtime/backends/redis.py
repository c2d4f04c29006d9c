"""A Redis pub/sub backend for broadcaster, without 0.3.1's start-up race.

broadcaster 0.3.1's RedisBackend wakes its reader when a subscription is *requested*;
with redis-py 5 and later the reader's `listen()` then finds nothing subscribed yet,
returns at once, and waits for a next subscription that never comes: no message is ever
received. This backend starts reading only once the server has confirmed the
subscription, and a reader that stops makes `next_published` fail instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from broadcaster import Event
from broadcaster._backends.base import BroadcastBackend
from redis import asyncio as aioredis

from graph.realtime.cancellation import cancel_and_wait


class _ReaderStopped:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class RedisPubSubBackend(BroadcastBackend):
    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_connect_timeout=3)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._queue: asyncio.Queue[Event | _ReaderStopped] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self._redis.ping()

    async def disconnect(self) -> None:
        await cancel_and_wait(self._reader)
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            await self._redis.aclose()

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="tasklive-redis-reader")

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._redis.publish(channel, message)

    async def next_published(self) -> Event:
        item = await self._queue.get()
        if isinstance(item, _ReaderStopped):
            raise ConnectionError("the Redis subscription stopped") from item.error
        return item

    async def _read(self) -> None:
        error: BaseException | None = None
        try:
            while True:
                message = await self._pubsub.get_message(timeout=None)
                if message is None or message.get("type") != "message":
                    continue
                channel, data = message["channel"], message["data"]
                await self._queue.put(
                    Event(
                        channel=channel.decode() if isinstance(channel, bytes) else channel,
                        message=data.decode() if isinstance(data, bytes) else data,
                    )
                )
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            error = exc
        await self._queue.put(_ReaderStopped(error))
