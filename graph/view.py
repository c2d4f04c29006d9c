"""The GraphQL endpoint: HTTP, multipart and SSE subscriptions, and WebSockets."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graph.context import Context, Services
from graph.errors import TaskliveError
from graph.identity import authenticate
from graph.logs import current_request


class TaskliveGraphQL(GraphQL[Context, None]):
    def __init__(self, services: Services, **kwargs: Any) -> None:
        from graph.schema.root import build_schema

        super().__init__(build_schema(services.settings), **kwargs)
        self.services = services

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        record = current_request.get()
        context = Context(
            services=self.services,
            request=request,
            response=response,
            request_id=record.id if record else "-",
        )
        if isinstance(request, Request):
            try:
                context.set_principal(
                    await authenticate(self.services, request.headers.get("authorization"))
                )
            except TaskliveError as exc:
                context.auth_error = exc
            if record is not None and context.principal is not None:
                record.user = context.principal.user_id
        return context
