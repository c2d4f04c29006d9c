"""ASGI middleware: one access-log line per HTTP request and per WebSocket connection."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.logs import RequestRecord, current_request

log = logging.getLogger("tasklive.access")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", record.id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "websocket.close":
                status = message.get("code", 1000)
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
