"""The legacy `graphql-ws` protocol, held to the same rules as `graphql-transport-ws`.

Strawberry's handler answers a refused `connection_init` with `connection_error` and 1011
and has no init timeout; ours closes with 4403 (token refused), 4408 (no init in time),
4429 (a second init) and 4400 (a payload that is not an object), as the contract says.
`start` before an acknowledged `connection_init` is closed with 4401 by the base class.
"""

from __future__ import annotations

import asyncio
import contextlib

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    OperationMessage,
)

from graph.context import Context


class LegacyGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle(self) -> None:
        watchdog = asyncio.create_task(self._close_without_init())
        try:
            await super().handle()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watchdog

    async def handle_message(self, message: OperationMessage) -> None:
        # JSON that is not an object, or an unhashable id, raises a TypeError in Strawberry's
        # dispatch, which drops the socket with no close frame: it is malformed (4400).
        if not isinstance(message, dict) or isinstance(message.get("id"), list | dict):
            await self.websocket.close(
                code=4400, reason="WebSocket message must be a JSON object with a scalar id"
            )
            return
        await super().handle_message(message)

    async def _close_without_init(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.connection_acknowledged:
            await self.websocket.close(code=4408, reason="Connection initialisation timeout")

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_acknowledged:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())
