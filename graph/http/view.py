"""The GraphQL endpoint: HTTP, multipart and SSE subscriptions, and WebSockets."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, cast

import strawberry
from cross_web import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types.unset import UNSET, UnsetType

from graph.auth.identity import authenticate
from graph.context import Context, Services
from graph.errors import TaskliveError, Unauthenticated
from graph.execution.encoding import dumps
from graph.http.media import (
    GRAPHQL_RESPONSE_JSON,
    accepts_json,
    is_request_error,
    is_subscription,
    prefers_graphql_response_json,
)
from graph.http.refusals import refusal
from graph.http.streams import STREAM_PROTOCOLS, HttpStream, StreamRefused
from graph.http.web import graphiql_page
from graph.logs import current_request
from graph.realtime.connections import LiveConnection
from graph.schema.root import build_schema
from graph.ws.admission import ConnectionLimits
from graph.ws.fastpath import FastPath
from graph.ws.frames import RawSocket
from graph.ws.legacy import LegacyGraphQLWSHandler
from graph.ws.transport import FastTransportWSHandler, TaskliveWebSocketAdapter

log = logging.getLogger(__name__)

TOKEN_KEYS = ("authorization", "Authorization", "token")
NOT_SET: UnsetType = UNSET


SUBSCRIPTION_NEEDS_STREAM = (
    "subscriptions need a streaming transport: a WebSocket (graphql-transport-ws), "
    'Accept: text/event-stream, or Accept: multipart/mixed;subscriptionSpec="1.0"'
)


def client_address(request: HTTPConnection) -> str:
    return request.client.host if request.client else "-"


def token_from_params(params: object) -> object:
    """The token of a `connection_init` payload, under any of the keys clients use."""
    if not isinstance(params, dict):
        return None
    for key in TOKEN_KEYS:
        if params.get(key) is not None:
            return params[key]
    return None


class TaskliveGraphQL(GraphQL[Context, None]):
    graphql_ws_handler_class = LegacyGraphQLWSHandler
    graphql_transport_ws_handler_class = FastTransportWSHandler
    websocket_adapter_class = TaskliveWebSocketAdapter

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(
            build_schema(services.settings),
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL,
                GRAPHQL_WS_PROTOCOL,
                GRAPHQL_SSE_PROTOCOL,
                MULTIPART_SUBSCRIPTION_PROTOCOL,
            ),
            **kwargs,
        )
        self.services = services
        self.limits = ConnectionLimits(services.settings, services.realtime)
        self.fast_path: FastPath | None = None
        if services.settings.fast_path:
            self.fast_path = FastPath(
                services,
                cast(strawberry.Schema, self.schema)._schema,
                cache_size=services.settings.document_cache_size,
            )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the web build, whose assets are local, or Strawberry's page without one."""
        page = graphiql_page(self.services.settings)
        if page is None:
            return await super().render_graphql_ide(request)
        return HTMLResponse(page)

    def encode_json(self, data: object) -> str:
        # A str, not bytes: Strawberry sends bytes as binary WebSocket frames, which browser
        # clients (graphql-ws, subscriptions-transport-ws) cannot parse as messages.
        return dumps(data).decode()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        if isinstance(request, Request) and prefers_graphql_response_json(
            request.headers.get("accept", "")
        ):
            sub_response.media_type = GRAPHQL_RESPONSE_JSON
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """`application/json` replies 200 to every well-formed request (the spec's legacy
        rule); `application/graphql-response+json` replies 400 without `data` when the
        operation never ran, as the GraphQL over HTTP spec asks."""
        if sub_response.media_type != GRAPHQL_RESPONSE_JSON or isinstance(response_data, list):
            return super().create_response(response_data, sub_response)  # (batching is off)
        refused = is_request_error(response_data)
        if refused:
            response_data = cast(
                GraphQLHTTPResponse, {k: v for k, v in response_data.items() if k != "data"}
            )
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if refused and not sub_response.status_code:
            response.status_code = 400
        return response

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except UnicodeDecodeError as exc:
            # A body that is not UTF-8 is malformed JSON: Strawberry answers 400 for a
            # JSONDecodeError but lets this ValueError through as a 500.
            raise json.JSONDecodeError("the body is not UTF-8", "", 0) from exc

    async def parse_http_body(self, request: Any) -> Any:
        """Streams only subscriptions when the client also takes JSON.

        urql's default `Accept` lists the JSON types and then `text/event-stream`, and Apollo
        Client's lists `multipart/mixed` before JSON; Strawberry streams whenever a streaming
        type is listed, so a plain query came back as an event stream urql could not read.
        """
        try:
            data = await super().parse_http_body(request)
        except AttributeError as exc:
            # A JSON body that is not an object (`5`, `"x"`, `null`): Strawberry calls `.get`
            # on it, which was a 500.
            raise HTTPException(400, "the request body must be a JSON object") from exc
        if (
            isinstance(data, GraphQLRequestData)
            and data.protocol != "http"
            and accepts_json(request.headers.get("accept", ""))
            and not is_subscription(
                data.query, data.operation_name, max_tokens=self.services.settings.max_tokens
            )
        ):
            data = dataclasses.replace(data, protocol="http")
        return data

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        if (
            isinstance(request_data, GraphQLRequestData)
            and request_data.protocol in STREAM_PROTOCOLS
            and is_subscription(
                request_data.query,
                request_data.operation_name,
                max_tokens=self.services.settings.max_tokens,
            )
        ):
            self.limits.admit_stream(
                request.scope,
                address=client_address(request),
                principal=context.principal,
                protocol=request_data.protocol,
            )
        return await super().execute_operation(
            request=request,
            request_adapter=request_adapter,
            request_data=request_data,
            context=context,
            root_value=root_value,
            sub_response=sub_response,
        )

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        live = HttpStream.of(request.scope)
        if live is not None:
            stream = live.guard(stream, self.encode_json_string)
        return await super().create_streaming_response(request, stream, sub_response, headers)

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        """Plain HTTP (no streaming `Accept`) runs queries and mutations, not subscriptions."""
        max_tokens = self.services.settings.max_tokens
        if is_subscription(request_data.query, request_data.operation_name, max_tokens=max_tokens):
            raise HTTPException(400, SUBSCRIPTION_NEEDS_STREAM)
        try:
            return await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                # The spec: a mutation over GET is 405 Method Not Allowed (Strawberry says 400).
                raise HTTPException(405, exc.reason) from exc
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = self.refused(request, exc)
            await response(scope, receive, send)
        finally:
            await self.limits.release_stream(scope)

    def refused(self, request: Request, exc: HTTPException) -> Response:
        """Strawberry answers these in plain text; clients expect a GraphQL response."""
        headers = None
        if exc.status_code == 405:
            headers = {"allow": "POST" if request.method == "GET" else "GET, POST"}
        accept = request.headers.get("accept", "")
        media = GRAPHQL_RESPONSE_JSON if prefers_graphql_response_json(accept) else None
        extensions = exc.extensions if isinstance(exc, StreamRefused) else None
        return refusal(
            exc.status_code, exc.reason, media_type=media, headers=headers, extensions=extensions
        )

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

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the socket from its `connection_init` payload; refuse with 4403."""
        hub = self.services.realtime
        try:
            principal = await authenticate(
                self.services, token_from_params(context.connection_params)
            )
            if principal is None:
                raise Unauthenticated("no token in the connection_init payload")
        except TaskliveError as exc:
            log.info("WebSocket refused: %s", exc)
            raise ConnectionRejectionError({"message": str(exc)}) from exc
        refused = self.limits.user_refusal(principal.user_id)
        if refused is not None:
            raise ConnectionRejectionError({"message": refused.message})
        context.set_principal(principal)
        record = current_request.get()
        if record is not None:
            record.user = principal.user_id
        websocket: WebSocket = context.request

        async def close(code: int, reason: str) -> None:
            if websocket.application_state != WebSocketState.DISCONNECTED:
                await websocket.close(code=code, reason=reason)

        connection = LiveConnection(user_id=principal.user_id, close=close)
        context.connection = connection
        context.raw_socket = RawSocket.from_send(websocket.scope.get("tasklive.server_send"))
        hub.connect(connection, expires_at=principal.expires_at)
        return NOT_SET

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        if not isinstance(request, WebSocket):
            return await super().run(request, context=context, root_value=root_value)
        if self.services.realtime.shutting_down:
            await request.close(code=1001)  # refuses the handshake; the client goes elsewhere
            return request
        address = client_address(request)
        if self.limits.address_refusal(address, kind="WebSocket") is not None:
            await request.close(code=1013)  # before the handshake: an HTTP 403
            return request
        self.limits.hold(address)
        ws_context = await self.get_context(request, response=request)
        try:
            return await super().run(request, context=ws_context, root_value=root_value)
        finally:
            self.limits.release(address)
            if ws_context.connection is not None:
                self.services.realtime.disconnect(ws_context.connection)
