"""The legacy `graphql-ws` protocol, held to the same rules as `graphql-transport-ws`.

Strawberry's handler answers a refused `connection_init` with `connection_error` and 1011
and has no init timeout; ours closes with 4403 (token refused), 4408 (no init in time),
4429 (a second init) and 4400 (a payload that is not an object, or a message that is not a
JSON object), as the contract says.
`start` before an acknowledged `connection_init` is closed with 4401 by the base class.
"""

from __future__ import annotations

import asyncio
from typing import cast

from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    OperationMessage,
    StartMessage,
    StopMessage,
)

from graph.context import Context
from graph.realtime.cancellation import cancel_and_wait
from graph.ws.transport import (
    MALFORMED,
    is_malformed,
    is_operation_payload,
    subscription_limit_error,
)


class LegacyGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle(self) -> None:
        watchdog = asyncio.create_task(self._close_without_init())
        try:
            await self._read_messages()
        finally:
            await cancel_and_wait(watchdog)

    async def _read_messages(self) -> None:
        """The base class's loop, except that a binary frame or a text frame that is not JSON
        closes with 4400, as on graphql-transport-ws (the base class: 1002, or ignored)."""
        try:
            async for message in self.websocket.iter_json():
                await self.handle_message(cast(OperationMessage, message))
        except (NonTextMessageReceived, NonJsonMessageReceived):
            await self.websocket.close(code=4400, reason="WebSocket message must be JSON text")
        except WebSocketDisconnected:
            pass
        finally:
            await cancel_and_wait(self.keep_alive_task)
            await self.cleanup()

    async def handle_message(self, message: OperationMessage) -> None:
        if is_malformed(message) or "type" not in message:
            await self.websocket.close(code=4400, reason=MALFORMED)
            return
        await super().handle_message(message)

    async def handle_start(self, message: StartMessage) -> None:
        # The base class indexes `id`, `payload` and `payload["query"]` unchecked: a missing
        # or mistyped one raised and dropped the socket with no close frame.
        if "id" not in message or not is_operation_payload(message.get("payload")):
            await self.websocket.close(
                code=4400, reason="start needs an id and a payload with a string query"
            )
            return
        limit = self.max_subscriptions_per_connection
        # A `start` that reuses a running id replaces that operation: it takes no new place.
        if limit is not None and message["id"] not in self.tasks and len(self.tasks) >= limit:
            error = subscription_limit_error(limit)
            await self.send_message(ErrorMessage(type="error", id=message["id"], payload=error))
            return
        self.context.renew_loaders()
        await super().handle_start(message)

    async def handle_stop(self, message: StopMessage) -> None:
        if "id" not in message:
            await self.websocket.close(code=4400, reason="stop needs an id")
            return
        await super().handle_stop(message)

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
