"""ASGI middleware: an access-log line per request and per WebSocket; the body size limit."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.http.refusals import refusal
from graph.logs import RequestRecord, current_request

log = logging.getLogger("tasklive.access")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    """Also counts, by code, every close the server sends on an accepted WebSocket (a refused
    handshake is not a close: the client sees an HTTP status)."""

    def __init__(self, app: ASGIApp, *, closes: MutableMapping[int, int]) -> None:
        self.app = app
        self.closes = closes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # The server's own `send`, before any wrapping: the live layer's fast path
            # writes prebuilt frames through the protocol object it belongs to.
            scope["tasklive.server_send"] = send
        record = RequestRecord(kind="ws" if scope["type"] == "websocket" else "http")
        token = current_request.set(record)
        status: int | str = "-"
        accepted = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, accepted
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", record.id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "websocket.accept":
                accepted = True
            elif message["type"] == "websocket.close":
                code = int(message.get("code", 1000))
                status = code
                if accepted:
                    self.closes[code] += 1
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            current_request.reset(token)
            path = scope.get("path", "")
            level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
            log.log(
                level,
                "%s %s %s %s %.1fms user=%s ops=%s",
                record.kind,
                scope.get("method", "WS"),
                path,
                status,
                record.elapsed_ms,
                record.user or "-",
                ",".join(record.operations) or "-",
                extra={
                    "request_id": record.id,
                    "fields": {
                        "kind": record.kind,
                        "path": path,
                        "status": status,
                        "duration_ms": round(record.elapsed_ms, 2),
                        "user": record.user,
                        "operations": record.operations,
                    },
                },
            )


class BodySizeLimitMiddleware:
    """Reads an HTTP request body before the app does, refusing one over `max_bytes` (413).

    The whole body is needed anyway (GraphQL parses it in one piece), so it is buffered here
    and handed on as one message; counting what arrives, not trusting `Content-Length`,
    also stops a chunked body that never ends.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, refusals: MutableMapping[str, int]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered: Message | None = {"type": "http.request", "body": b"".join(chunks)}

        async def replay() -> Message:
            nonlocal buffered
            if buffered is None:
                return await receive()
            message, buffered = buffered, None
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.refusals["body_size"] += 1
        response = refusal(
            413,
            f"the request body is larger than {self.max_bytes} bytes (MAX_BODY_BYTES)",
            headers={"connection": "close"},
        )
        await response(scope, receive, send)
