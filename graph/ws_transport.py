"""graphql-transport-ws with the fast path for live subscriptions.

Strawberry's handler keeps the protocol (init, ids, limits, close codes); only running an
operation changes: a live subscription that the fast path can serve joins a group, and
everything else runs as Strawberry runs it.
"""

from __future__ import annotations

import logging

from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from graph.context import Context

log = logging.getLogger(__name__)


class FastTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def run_operation(self, operation: Operation[Context, None]) -> None:
        fast = getattr(self.view, "fast_path", None)
        plan = None
        if fast is not None and self.context.raw_socket is not None:
            plan = fast.plan(operation.query, operation.operation_name)
        if fast is None or plan is None:
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
