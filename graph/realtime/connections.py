"""A live connection (a WebSocket or an HTTP subscription stream) as the live layer sees it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable


class LiveConnection:
    """A WebSocket or an SSE/multipart stream: its user, and a way to close it.

    `close` takes a WebSocket close code; an HTTP stream translates it (see graph/http/streams.py).
    """

    def __init__(self, *, user_id: str, close: Callable[[int, str], Awaitable[None]]) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.user_id = user_id
        self._close = close
        self.closing = False
        self.expiry: asyncio.TimerHandle | None = None

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(Exception):
            await self._close(code, reason)
