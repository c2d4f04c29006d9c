"""Subscriptions over HTTP (SSE, Apollo's multipart) as live connections.

A stream counts toward the connection limits and in presence like a WebSocket, from its
admission until its response ends. The live layer closes it like a socket, with a close
code, which the stream turns into its own ending:

- 4403 (the token expired): a last GraphQL error with `extensions.code = "UNAUTHENTICATED"`
  (SSE: a `next` event with the error, then `complete`; multipart: the final part
  `{"payload": null, "errors": [...]}` Apollo's protocol uses for a transport error, then
  the closing boundary); the client re-authenticates and resumes with `after`.
- any other code (1001, the server shutting down): the stream ends with neither `complete`
  nor the closing boundary, as a dropped connection does; clients retry and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, MutableMapping
from typing import Any

from cross_web import HTTPException
from strawberry.http.streaming import MultipartSubscriptionTransport, SSETransport

from graph.errors import Unauthenticated
from graph.realtime.connections import LiveConnection
from graph.realtime.hub import CLOSE_FORBIDDEN

STREAM_PROTOCOLS = frozenset({"sse", "multipart-subscription"})
_SCOPE_KEY = "tasklive.stream"
JSONEncoder = Callable[[object], str]
TextStream = Callable[[], AsyncIterator[str]]


class StreamRefused(HTTPException):
    """A stream refused before it starts: answered as a GraphQL error with `extensions`."""

    def __init__(self, status_code: int, reason: str, **extensions: object) -> None:
        super().__init__(status_code, reason)
        self.extensions = extensions


class HttpStream:
    """One SSE or multipart subscription response, from its admission until it ends."""

    def __init__(self, *, protocol: str, address: str, user_id: str | None) -> None:
        self.protocol = protocol
        self.address = address
        # A stream without a valid token ends at once with UNAUTHENTICATED: it holds a
        # place of its address, but is no user's connection.
        self.connection = (
            LiveConnection(user_id=user_id, close=self._close) if user_id is not None else None
        )
        self._ended: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._generator: AsyncGenerator[str, None] | None = None

    def attach(self, scope: MutableMapping[str, Any]) -> None:
        """Keep the stream with its request, for the view to release when the response ends."""
        scope[_SCOPE_KEY] = self

    @staticmethod
    def of(scope: MutableMapping[str, Any]) -> HttpStream | None:
        stream = scope.get(_SCOPE_KEY)
        return stream if isinstance(stream, HttpStream) else None

    async def _close(self, code: int, reason: str) -> None:
        if not self._ended.done():
            self._ended.set_result((code, reason))

    def guard(self, stream: TextStream, encode_json: JSONEncoder) -> TextStream:
        """`stream` (Strawberry's encoded events and heartbeats), cut short when the stream
        is closed: the subscription is cancelled, then the ending its close code asks for."""

        def start() -> AsyncGenerator[str, None]:
            self._generator = self._guarded(stream(), encode_json)
            return self._generator

        return start

    async def _guarded(
        self, source: AsyncIterator[str], encode_json: JSONEncoder
    ) -> AsyncGenerator[str, None]:
        try:
            while not self._ended.done():
                chunk = asyncio.ensure_future(_pull(source))
                try:
                    await asyncio.wait((chunk, self._ended), return_when=asyncio.FIRST_COMPLETED)
                except asyncio.CancelledError:
                    chunk.cancel()  # the client left; the pull unwinds in its own task
                    raise
                if self._ended.done():
                    # Nothing more is sent, not even an event that came at the same moment:
                    # the client resumes from the last cursor it received.
                    await _drop(chunk)
                    break
                text = chunk.result()
                if text is None:
                    break
                yield text
        finally:
            await _close_quietly(source)
        if self._ended.done():
            for text in self._last_words(*self._ended.result(), encode_json):
                yield text

    async def finish(self) -> None:
        """The response is over (sent, or the client left): close what is left of it."""
        if self._generator is not None:
            await _close_quietly(self._generator)

    def _last_words(self, code: int, reason: str, encode_json: JSONEncoder) -> list[str]:
        if code != CLOSE_FORBIDDEN:
            return []
        error = {"message": reason, "extensions": Unauthenticated(reason).extensions}
        if self.protocol == "sse":
            sse = SSETransport()
            return [
                sse.encode_event("next", encode_json({"data": None, "errors": [error]})),
                sse.encode_complete(),
            ]
        multipart = MultipartSubscriptionTransport()
        return [
            multipart.encode_multipart_data({"payload": None, "errors": [error]}, encode_json),
            multipart.encode_complete(),
        ]


async def _pull(source: AsyncIterator[str]) -> str | None:
    try:
        return await anext(source)
    except StopAsyncIteration:
        return None


async def _drop(chunk: asyncio.Future[str | None]) -> None:
    """Cancel a pull (and the subscription's resolver with it) and wait until it unwound,
    so that the subscription has left its rooms before the stream's last words."""
    chunk.cancel()
    await asyncio.wait((chunk,))
    if not chunk.cancelled():
        chunk.exception()  # retrieved: whatever it was, the stream is over


async def _close_quietly(source: AsyncIterator[str]) -> None:
    """Close `source`, unless a cancelled pull is still unwinding it in its own task (then
    aclose says "asynchronous generator is already running", and that task finishes it)."""
    if isinstance(source, AsyncGenerator):
        with contextlib.suppress(RuntimeError):
            await source.aclose()
