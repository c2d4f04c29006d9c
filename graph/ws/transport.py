"""graphql-transport-ws with the fast path for live subscriptions.

Strawberry's handler keeps the protocol (init, ids, limits, close codes); only running an
operation changes: a live subscription that the fast path can serve joins a group, and
everything else runs as Strawberry runs it.
"""

from __future__ import annotations

import logging

from graphql import GraphQLFormattedError
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage,
    Message,
    SubscribeMessage,
)

from graph.context import Context
from graph.errors import LimitExceeded

log = logging.getLogger(__name__)


MALFORMED = "WebSocket message must be a JSON object with a string type and a scalar id"
# A close frame's reason holds at most 123 bytes of UTF-8.
MAX_CLOSE_REASON_BYTES = 123


def close_reason(text: str) -> str:
    """`text`, cut to fit a close frame. Strawberry quotes the client in some reasons (an
    unknown message type, a reused operation id): one too long made the close itself fail,
    and the socket dropped with no close code."""
    data = text.encode("utf-8", "replace")  # a lone surrogate from the client becomes "?"
    if len(data) > MAX_CLOSE_REASON_BYTES:
        data = data[: MAX_CLOSE_REASON_BYTES - 3] + b"..."
    return data.decode("utf-8", "ignore")


class TaskliveWebSocketAdapter(ASGIWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        await super().close(code, close_reason(reason))


def is_malformed(message: object) -> bool:
    """JSON that is not an object (`[]`, `5`, `null`), or a `type` or `id` that is an array
    or an object: Strawberry's dispatch raises a TypeError on it (or a KeyError on a missing
    legacy `type`), which drops the socket with no close frame."""
    if not isinstance(message, dict):
        return True
    return isinstance(message.get("id"), list | dict) or isinstance(
        message.get("type"), list | dict
    )


def is_operation_payload(payload: object) -> bool:
    """A `subscribe` (or legacy `start`) payload: an object with a string `query`, and
    `variables`, `operationName` and `extensions` of the right types when given. Strawberry
    took others unchecked: a list dropped the socket, a query that is a number hung it."""
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables") or {}, dict)
        and isinstance(payload.get("operationName") or "", str)
        and isinstance(payload.get("extensions") or {}, dict)
    )


def subscription_limit_error(limit: int) -> GraphQLFormattedError:
    """The error refusing one operation too many on a socket (Strawberry's has no code)."""
    error = LimitExceeded(
        "Subscription limit reached", limit="subscriptions_per_connection", maximum=limit
    )
    return {"message": str(error), "extensions": error.extensions}


class FastTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Message) -> None:
        if is_malformed(message):
            await self.handle_invalid_message(MALFORMED)  # closes with 4400
            return
        if message.get("type") == "subscribe" and not is_operation_payload(message.get("payload")):
            await self.handle_invalid_message("subscribe needs a payload with a string query")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            limit is not None
            and self.connection_acknowledged
            and message["id"] not in self.operations  # else the base class closes with 4409
            and len(self.operations) >= limit
        ):
            error = subscription_limit_error(limit)
            await self.send_message(ErrorMessage(id=message["id"], type="error", payload=[error]))
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        fast = getattr(self.view, "fast_path", None)
        plan = None
        if fast is not None and self.context.raw_socket is not None:
            plan = fast.plan(operation.query, operation.operation_name)
        if fast is None or plan is None:
            self.context.renew_loaders()
            await super().run_operation(operation)
            return
        await fast.serve(
            self.context, operation.id, plan, operation.variables, operation.send_operation_message
        )

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            # The socket was closed under the operation (slow consumer, expiry, shutdown):
            # expected, and already logged where it was closed.
            log.debug("operation ended by a closed socket: %s", error)
            return
        await super().handle_task_exception(error)
