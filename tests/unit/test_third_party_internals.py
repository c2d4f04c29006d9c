"""The third-party internals our code patches, subclasses or reaches into, held to their shape.

`constraints.txt` pins the versions these were written against; an upgrade that moves one
fails here, naming the package, its version, what changed and which of our files relies on
it, instead of as a hung socket or a silent leak in production. One test per internal, so
that a failure names exactly one. Only third-party objects are imported here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable
from importlib.metadata import version
from typing import Any, NoReturn, get_origin

import pytest


def broken(dist: str, problem: str, user: str) -> NoReturn:
    pytest.fail(f"{dist} {version(dist)}: {problem}; {user} relies on it", pytrace=False)


def require(condition: object, dist: str, problem: str, user: str) -> None:
    if not condition:
        broken(dist, problem, user)


def parameters(func: Callable[..., Any]) -> list[str]:
    """The parameter names of `func` (bound methods and unbound functions alike)."""
    return list(inspect.signature(func).parameters)


def require_parameters(
    func: Callable[..., Any], names: list[str], dist: str, what: str, user: str
) -> None:
    """`func` exists and takes `names`, in that order, as its leading parameters."""
    if not callable(func):
        broken(dist, f"{what} is gone", user)
    found = parameters(func)
    extra = list(inspect.signature(func).parameters.values())[len(names) :]
    required = [
        p.name
        for p in extra
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    require(
        found[: len(names)] == names and not required,
        dist,
        f"{what} now takes ({', '.join(found)}); we call it as ({', '.join(names)})",
        user,
    )


def require_keywords(
    func: Callable[..., Any], names: list[str], dist: str, what: str, user: str
) -> None:
    """`func` accepts each of `names` by keyword."""
    found = inspect.signature(func).parameters
    missing = [name for name in names if name not in found]
    require(not missing, dist, f"{what} no longer takes {', '.join(missing)}", user)


def require_method(
    cls: type, name: str, names: list[str], dist: str, user: str, *, is_async: bool
) -> None:
    """`cls.name` exists, is a coroutine function or not as we call it, and takes `names`."""
    what = f"{cls.__name__}.{name}"
    method = getattr(cls, name, None)
    if method is None:
        broken(dist, f"{what} is gone", user)
    require(
        inspect.iscoroutinefunction(method) == is_async,
        dist,
        f"{what} is {'no longer' if is_async else 'now'} a coroutine function",
        user,
    )
    require_parameters(method, ["self", *names], dist, what, user)


def assigned_in_init(cls: type) -> str:
    """The source of `cls.__init__`, to see which attributes it sets."""
    return inspect.getsource(cls.__init__)  # type: ignore[misc]


def require_init_sets(cls: type, names: list[str], dist: str, user: str) -> None:
    source = assigned_in_init(cls)
    missing = [name for name in names if f"self.{name}" not in source]
    require(
        not missing,
        dist,
        f"{cls.__name__}.__init__ no longer sets {', '.join(missing)}",
        user,
    )


# --- graphql-core: the per-event executor (graph/realtime/leakfix.py, groups.py, fastpath.py)

LEAKFIX = "graph/realtime/leakfix.py"
GROUPS = "graph/realtime/groups.py, graph/realtime/fastpath.py"
SUBSCRIPTION_SDL = """
    type Query { dummy: String }
    type Subscription { greeting(name: String!): String }
"""


def graphql_executor(document: str = "subscription($n: String!) { greeting(name: $n) }") -> Any:
    from graphql import build_schema, parse
    from graphql.execution.executor import Executor

    built = Executor.build(
        build_schema(SUBSCRIPTION_SDL),
        parse(document),
        context_value=None,
        raw_variable_values={"n": "x"},
        operation_name=None,
    )
    if isinstance(built, list):
        broken("graphql-core", f"Executor.build refused a valid subscription: {built}", GROUPS)
    return built


def test_graphql_core_executor_module() -> None:
    try:
        from graphql.execution import executor as executor_module
    except ImportError:
        broken("graphql-core", "graphql.execution.executor is gone", f"{LEAKFIX}, {GROUPS}")
    require(
        inspect.isclass(getattr(executor_module, "Executor", None)),
        "graphql-core",
        "graphql.execution.executor.Executor is gone",
        f"{LEAKFIX}, {GROUPS}",
    )


def test_graphql_core_executor_build() -> None:
    from graphql.execution.executor import Executor

    require_keywords(
        Executor.build,
        ["schema", "document", "context_value", "raw_variable_values", "operation_name"],
        "graphql-core",
        "Executor.build",
        "graph/realtime/fastpath.py",
    )
    from graphql import build_schema, parse

    refused = Executor.build(
        build_schema(SUBSCRIPTION_SDL),
        parse("subscription($n: String!) { greeting(name: $n) }"),
        raw_variable_values={},
    )
    require(
        isinstance(refused, list),
        "graphql-core",
        "Executor.build no longer returns a list of errors for variables that do not coerce",
        "graph/realtime/fastpath.py",
    )


def test_graphql_core_build_per_event_executor() -> None:
    from graphql.execution.executor import Executor

    require_method(
        Executor, "build_per_event_executor", ["payload"], "graphql-core", LEAKFIX, is_async=False
    )
    executor = graphql_executor()
    per_event = executor.build_per_event_executor({"greeting": "hi"})
    require(
        isinstance(per_event, Executor) and per_event is not executor,
        "graphql-core",
        "Executor.build_per_event_executor no longer returns a new Executor",
        f"{LEAKFIX}, {GROUPS}",
    )


def test_graphql_core_relevant_sub_fields() -> None:
    """The memo leakfix replaces: an instance attribute, a dict, shared by the shallow copy
    (the leak). A per-event executor with its own memo means upstream fixed it: the patch
    can go; one without the attribute means the patch silently does nothing."""
    executor = graphql_executor()
    per_event = executor.build_per_event_executor({"greeting": "hi"})
    memo = vars(per_event).get("_relevant_sub_fields")
    require(
        isinstance(memo, dict),
        "graphql-core",
        "a per-event Executor no longer has a `_relevant_sub_fields` dict in its __dict__",
        LEAKFIX,
    )
    require(
        memo is vars(executor).get("_relevant_sub_fields"),
        "graphql-core",
        "build_per_event_executor no longer shares `_relevant_sub_fields` with the "
        "subscription's executor (the leak may be fixed upstream: check, then drop the patch)",
        LEAKFIX,
    )


def test_graphql_core_execute_subscription_event() -> None:
    from graphql import ExecutionResult
    from graphql.execution import execute_subscription_event

    require_parameters(
        execute_subscription_event,
        ["executor"],
        "graphql-core",
        "graphql.execution.execute_subscription_event",
        "graph/realtime/groups.py",
    )
    result = execute_subscription_event(
        graphql_executor().build_per_event_executor({"greeting": "hi"})
    )
    require(
        isinstance(result, ExecutionResult) and result.data == {"greeting": "hi"},
        "graphql-core",
        f"execute_subscription_event(per-event executor) returned {result!r}",
        "graph/realtime/groups.py",
    )


def test_graphql_core_variable_and_argument_values() -> None:
    from graphql import OperationDefinitionNode, build_schema, parse
    from graphql.execution.values import get_argument_values, get_variable_values

    user = "graph/realtime/fastpath.py"
    schema = build_schema(SUBSCRIPTION_SDL)
    operation = parse("subscription($n: String!) { greeting(name: $n) }").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    definitions = operation.variable_definitions or ()
    refused = get_variable_values(schema, definitions, {})
    require(
        isinstance(refused, list),
        "graphql-core",
        "get_variable_values no longer returns a list of errors for a missing variable",
        user,
    )
    coerced = get_variable_values(schema, definitions, {"n": "x"})
    require(
        not isinstance(coerced, list),
        "graphql-core",
        f"get_variable_values(schema, definitions, inputs) refused valid inputs: {coerced}",
        user,
    )
    subscription = schema.subscription_type
    assert subscription is not None
    field_node = operation.selection_set.selections[0]
    arguments = get_argument_values(subscription.fields["greeting"], field_node, coerced)  # type: ignore[arg-type]
    require(
        arguments == {"name": "x"},
        "graphql-core",
        f"get_argument_values(field, node, coerced variables) returned {arguments!r}",
        user,
    )


def test_graphql_core_token_limit_message() -> None:
    from graphql import GraphQLSyntaxError, parse

    try:
        parse("{ a b c d e f }", max_tokens=3)
    except GraphQLSyntaxError as error:
        require(
            "Document contains more than" in error.message,
            "graphql-core",
            f"the token limit's syntax error now reads {error.message!r}",
            "graph/extensions.py (LimitedParserCache matches its text)",
        )
    else:
        broken("graphql-core", "parse(max_tokens=3) no longer refuses a longer document", "")


# --- strawberry-graphql: the graphql-transport-ws handler (graph/ws_transport.py)

TRANSPORT = "graph/ws_transport.py"


@pytest.mark.parametrize(
    ("name", "names"),
    [
        ("handle_message", ["message"]),
        ("handle_subscribe", ["message"]),
        ("run_operation", ["operation"]),
        ("handle_task_exception", ["error"]),
        ("handle_invalid_message", ["error_message"]),
        ("send_message", ["message"]),
    ],
)
def test_strawberry_transport_ws_handler_method(name: str, names: list[str]) -> None:
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
        BaseGraphQLTransportWSHandler,
    )

    require_method(
        BaseGraphQLTransportWSHandler, name, names, "strawberry-graphql", TRANSPORT, is_async=True
    )


def test_strawberry_transport_ws_handler_attributes() -> None:
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
        BaseGraphQLTransportWSHandler,
    )

    require_init_sets(
        BaseGraphQLTransportWSHandler,
        [
            "view",
            "context",
            "max_subscriptions_per_connection",
            "connection_acknowledged",
            "operations",
        ],
        "strawberry-graphql",
        TRANSPORT,
    )


def test_strawberry_transport_ws_limit_check_order() -> None:
    """Our handle_subscribe counts `operations` only for an id the base class would not
    refuse with 4409 itself: it must still check a reused id against `self.operations`."""
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
        BaseGraphQLTransportWSHandler,
    )

    source = inspect.getsource(BaseGraphQLTransportWSHandler.handle_subscribe)
    require(
        "in self.operations" in source and "4409" in source,
        "strawberry-graphql",
        "BaseGraphQLTransportWSHandler.handle_subscribe no longer closes a reused id "
        "(found in self.operations) with 4409",
        TRANSPORT,
    )


def test_strawberry_transport_ws_operation() -> None:
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

    require_init_sets(
        Operation, ["id", "query", "variables", "operation_name"], "strawberry-graphql", TRANSPORT
    )
    require_method(
        Operation,
        "send_operation_message",
        ["message"],
        "strawberry-graphql",
        TRANSPORT,
        is_async=True,
    )


def test_strawberry_websocket_adapter_close() -> None:
    from strawberry.asgi import ASGIWebSocketAdapter

    require_method(
        ASGIWebSocketAdapter,
        "close",
        ["code", "reason"],
        "strawberry-graphql",
        TRANSPORT,
        is_async=True,
    )


# --- strawberry-graphql: the legacy graphql-ws handler (graph/ws_legacy.py)

LEGACY = "graph/ws_legacy.py"


@pytest.mark.parametrize(
    ("name", "names"),
    [
        ("handle", []),
        ("handle_message", ["message"]),
        ("handle_start", ["message"]),
        ("handle_stop", ["message"]),
        ("handle_connection_init", ["message"]),
        ("handle_keep_alive", []),
        ("send_message", ["message"]),
        ("cleanup", []),
    ],
)
def test_strawberry_graphql_ws_handler_method(name: str, names: list[str]) -> None:
    from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

    require_method(BaseGraphQLWSHandler, name, names, "strawberry-graphql", LEGACY, is_async=True)


def test_strawberry_graphql_ws_handler_attributes() -> None:
    from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

    require_init_sets(
        BaseGraphQLWSHandler,
        [
            "view",
            "websocket",
            "context",
            "keep_alive",
            "keep_alive_task",
            "tasks",
            "connection_acknowledged",
            "max_subscriptions_per_connection",
        ],
        "strawberry-graphql",
        LEGACY,
    )


def test_strawberry_graphql_ws_handle_loop() -> None:
    """Our `handle` replaces the base class's read loop: it must still be that loop (read
    JSON, dispatch, then cancel the keep-alive and clean up), or ours skips a new step."""
    from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

    source = inspect.getsource(BaseGraphQLWSHandler.handle)
    steps = [
        "self.websocket.iter_json(",
        "self.handle_message(",
        "self.keep_alive_task",
        "self.cleanup()",
    ]
    missing = [step for step in steps if step not in source]
    require(
        not missing,
        "strawberry-graphql",
        f"BaseGraphQLWSHandler.handle changed (no longer uses {', '.join(missing)}); "
        "our _read_messages re-implements it",
        LEGACY,
    )


def test_strawberry_websocket_exceptions() -> None:
    from strawberry.http import exceptions

    missing = [
        name
        for name in ("NonJsonMessageReceived", "NonTextMessageReceived", "WebSocketDisconnected")
        if not inspect.isclass(getattr(exceptions, name, None))
    ]
    require(
        not missing,
        "strawberry-graphql",
        f"strawberry.http.exceptions no longer has {', '.join(missing)}",
        f"{LEGACY}, {TRANSPORT}",
    )


def test_strawberry_connection_rejection_error() -> None:
    from strawberry.exceptions import ConnectionRejectionError

    error = ConnectionRejectionError({"message": "no"})
    require(
        error.payload == {"message": "no"},
        "strawberry-graphql",
        "ConnectionRejectionError(payload) no longer keeps its payload",
        f"graph/view.py, {LEGACY}",
    )


# --- strawberry-graphql: the ASGI view (graph/view.py, graph/http_streams.py)

VIEW = "graph/view.py"


@pytest.mark.parametrize(
    ("name", "names", "is_async"),
    [
        ("render_graphql_ide", ["request"], True),
        ("encode_json", ["data"], False),
        ("encode_json_string", ["data"], False),
        ("decode_json", ["data"], False),
        ("get_sub_response", ["request"], True),
        ("create_response", ["response_data", "sub_response"], False),
        ("parse_http_body", ["request"], True),
        (
            "execute_operation",
            ["request", "request_adapter", "request_data", "context", "root_value", "sub_response"],
            True,
        ),
        (
            "execute_single",
            ["request", "request_adapter", "sub_response", "context", "root_value", "request_data"],
            True,
        ),
        ("create_streaming_response", ["request", "stream", "sub_response", "headers"], True),
        ("run", ["request", "context", "root_value"], True),
        ("get_context", ["request", "response"], True),
        ("on_ws_connect", ["context"], True),
    ],
)
def test_strawberry_view_method(name: str, names: list[str], is_async: bool) -> None:
    from strawberry.asgi import GraphQL

    require_method(GraphQL, name, names, "strawberry-graphql", VIEW, is_async=is_async)


def test_strawberry_view_handler_classes() -> None:
    from strawberry.asgi import GraphQL

    missing = [
        name
        for name in (
            "graphql_ws_handler_class",
            "graphql_transport_ws_handler_class",
            "websocket_adapter_class",
        )
        if not inspect.isclass(get_origin(getattr(GraphQL, name, None)) or getattr(GraphQL, name))
    ]
    require(
        not missing,
        "strawberry-graphql",
        f"GraphQL no longer has the class attributes {', '.join(missing)}",
        VIEW,
    )


def test_strawberry_view_connection_init_wait_timeout() -> None:
    import strawberry
    from strawberry.asgi import GraphQL

    @strawberry.type
    class Query:
        dummy: str = ""

    view = GraphQL(strawberry.Schema(Query))
    timeout = getattr(view, "connection_init_wait_timeout", None)
    require(
        hasattr(timeout, "total_seconds"),
        "strawberry-graphql",
        "GraphQL.connection_init_wait_timeout is no longer a timedelta",
        LEGACY,
    )


def test_strawberry_execute_single_wraps_invalid_operation_type() -> None:
    """A mutation over GET: our view turns the HTTPException whose cause is an
    InvalidOperationTypeError into a 405."""
    from strawberry.http.async_base_view import AsyncBaseHTTPView
    from strawberry.schema.exceptions import InvalidOperationTypeError

    source = inspect.getsource(AsyncBaseHTTPView.execute_single)
    require(
        InvalidOperationTypeError.__name__ in source and "HTTPException(" in source,
        "strawberry-graphql",
        "execute_single no longer raises HTTPException from InvalidOperationTypeError",
        VIEW,
    )


def test_strawberry_raises_cross_web_http_exception() -> None:
    import strawberry.http.async_base_view as base_view
    from cross_web import HTTPException

    require(
        getattr(base_view, "HTTPException", None) is HTTPException,
        "strawberry-graphql",
        "the HTTP view no longer raises cross_web.HTTPException",
        f"{VIEW}, graph/http_streams.py",
    )
    error = HTTPException(400, "no")
    require(
        (error.status_code, error.reason) == (400, "no"),
        "cross-web",
        "HTTPException(status_code, reason) no longer keeps status_code and reason",
        f"{VIEW}, graph/http_streams.py",
    )


def test_strawberry_request_data() -> None:
    from strawberry.http import GraphQLRequestData

    fields = {field.name for field in dataclasses.fields(GraphQLRequestData)}
    missing = {"query", "operation_name", "protocol"} - fields
    require(
        not missing,
        "strawberry-graphql",
        f"GraphQLRequestData is no longer a dataclass with {', '.join(sorted(missing))}",
        f"{VIEW} (dataclasses.replace(data, protocol=...))",
    )


def test_strawberry_schema_graphql_core_schema() -> None:
    import strawberry
    from graphql import GraphQLSchema

    @strawberry.type
    class Query:
        dummy: str = ""

    require(
        isinstance(getattr(strawberry.Schema(Query), "_schema", None), GraphQLSchema),
        "strawberry-graphql",
        "Schema._schema is no longer the graphql-core GraphQLSchema",
        f"{VIEW}, graph/extensions.py",
    )


def test_strawberry_stream_transports() -> None:
    from strawberry.http.streaming import MultipartSubscriptionTransport, SSETransport

    user = "graph/http_streams.py"
    sse = SSETransport()
    require(
        sse.encode_event("next", "{}").startswith("event: next")
        and "complete" in sse.encode_complete(),
        "strawberry-graphql",
        "SSETransport.encode_event(event, data) / encode_complete() changed",
        user,
    )
    multipart = MultipartSubscriptionTransport()
    part = multipart.encode_multipart_data({"payload": None}, lambda data: '{"payload":null}')
    require(
        '{"payload":null}' in part and multipart.encode_complete().rstrip().endswith("--"),
        "strawberry-graphql",
        "MultipartSubscriptionTransport.encode_multipart_data(data, encode_json) / "
        "encode_complete() changed",
        user,
    )


# --- strawberry-graphql: schema extensions (graph/extensions.py)

EXTENSIONS = "graph/extensions.py"


def test_strawberry_execution_context_fields() -> None:
    from strawberry.types.execution import ExecutionContext

    fields = {field.name for field in dataclasses.fields(ExecutionContext)}
    missing = {
        "schema",
        "variables",
        "parse_options",
        "graphql_document",
        "pre_execution_errors",
        "result",
    } - fields
    require(
        not missing and isinstance(getattr(ExecutionContext, "operation_name", None), property),
        "strawberry-graphql",
        f"ExecutionContext lost {', '.join(sorted(missing)) or 'its operation_name property'}",
        EXTENSIONS,
    )


def test_strawberry_parse_options_max_tokens() -> None:
    from strawberry.types.execution import ParseOptions

    require(
        "max_tokens" in ParseOptions.__annotations__,
        "strawberry-graphql",
        "ParseOptions no longer has max_tokens",
        EXTENSIONS,
    )


@pytest.mark.parametrize(
    ("module", "name", "hook"),
    [
        ("strawberry.extensions", "ParserCache", "on_parse"),
        ("strawberry.extensions", "ValidationCache", "on_validate"),
    ],
)
def test_strawberry_cache_extension(module: str, name: str, hook: str) -> None:
    import importlib

    cls = getattr(importlib.import_module(module), name)
    require_keywords(cls, ["maxsize"], "strawberry-graphql", f"{name}()", EXTENSIONS)
    method = getattr(cls, hook, None)
    require(
        method is not None and inspect.isgeneratorfunction(method),
        "strawberry-graphql",
        f"{name}.{hook} is no longer a generator hook (we `yield from super().{hook}()`)",
        EXTENSIONS,
    )


# --- uvicorn: the sans-I/O WebSocket protocol (graph/ws_uvicorn.py, graph/realtime/frames.py)

UVICORN_WS = "graph/ws_uvicorn.py, graph/realtime/frames.py"


async def _noop_app(scope: Any, receive: Any, send: Any) -> None:
    return None


def uvicorn_protocol() -> Any:
    from uvicorn.config import Config
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from uvicorn.server import ServerState

    config = Config(app=_noop_app, ws="websockets-sansio", ws_per_message_deflate=False)
    config.load()
    return WebSocketsSansIOProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )


async def test_uvicorn_sansio_protocol_attributes() -> None:
    protocol = uvicorn_protocol()
    missing = [
        name
        for name in (
            "conn",
            "queue",
            "close_sent",
            "disconnected",
            "close_timer",
            "loop",
            "transport",
        )
        if not hasattr(protocol, name)
    ]
    require(
        not missing,
        "uvicorn",
        f"WebSocketsSansIOProtocol no longer has {', '.join(missing)}",
        UVICORN_WS,
    )
    require(
        isinstance(protocol.queue, asyncio.Queue) and protocol.close_sent is False,
        "uvicorn",
        "WebSocketsSansIOProtocol.queue / close_sent changed type",
        UVICORN_WS,
    )


async def test_uvicorn_sansio_protocol_conn() -> None:
    """`conn` is websockets' sans-I/O ServerProtocol: we drain and write its bytes."""
    conn = uvicorn_protocol().conn
    missing = [
        name for name in ("data_to_send", "send_close", "extensions") if not hasattr(conn, name)
    ]
    require(
        not missing,
        "uvicorn",
        f"WebSocketsSansIOProtocol.conn ({type(conn).__name__}) has no {', '.join(missing)}",
        UVICORN_WS,
    )
    require_parameters(
        conn.send_close, ["code", "reason"], "websockets", "ServerProtocol.send_close", UVICORN_WS
    )


def test_uvicorn_sansio_handle_ping() -> None:
    """We replace `handle_ping()`: uvicorn must still call it, without arguments, per ping."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    require_method(
        WebSocketsSansIOProtocol,
        "handle_ping",
        [],
        "uvicorn",
        "graph/ws_uvicorn.py",
        is_async=False,
    )
    require(
        "self.handle_ping()" in inspect.getsource(WebSocketsSansIOProtocol.handle_events),
        "uvicorn",
        "WebSocketsSansIOProtocol.handle_events no longer calls self.handle_ping()",
        "graph/ws_uvicorn.py",
    )


def test_uvicorn_sansio_send_is_bound_method() -> None:
    """The app's `send` must be the protocol's bound method: RawSocket finds the protocol
    (and so the transport) through `send.__self__`."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    require(
        "self.app(self.scope, self.receive, self.send)"
        in inspect.getsource(WebSocketsSansIOProtocol.run_asgi),
        "uvicorn",
        "WebSocketsSansIOProtocol.run_asgi no longer passes its bound `send` to the app",
        "graph/realtime/frames.py, graph/middleware.py",
    )


def test_uvicorn_config_takes_protocol_class() -> None:
    from uvicorn.config import Config
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    config = Config(app=_noop_app, ws=WebSocketsSansIOProtocol)
    config.load()
    require(
        config.ws_protocol_class is WebSocketsSansIOProtocol,
        "uvicorn",
        "Config(ws=<protocol class>) no longer uses the class given",
        "graph/cli.py (uvicorn.run(ws=BoundedWebSocketsProtocol))",
    )


def test_uvicorn_signal_handlers() -> None:
    """Shutdown chains our handler in front of uvicorn's, installed with signal.signal."""
    from uvicorn.server import Server

    require_method(
        Server, "handle_exit", ["sig", "frame"], "uvicorn", "graph/shutdown.py", is_async=False
    )
    require(
        "signal.signal(" in inspect.getsource(Server.capture_signals),
        "uvicorn",
        "Server.capture_signals no longer installs its handlers with signal.signal",
        "graph/shutdown.py",
    )


# --- broadcaster (graph/realtime/bus.py, graph/realtime/redis_backend.py)

BACKEND = "graph/realtime/redis_backend.py"
BROADCAST_METHODS = {
    "connect": [],
    "disconnect": [],
    "subscribe": ["group"],
    "unsubscribe": ["group"],
    "publish": ["channel", "message"],
    "next_published": [],
}


def test_broadcaster_backend_interface() -> None:
    """Our backend implements exactly these: a new method would be left unimplemented."""
    try:
        from broadcaster._backends.base import BroadcastBackend
    except ImportError:
        broken("broadcaster", "broadcaster._backends.base.BroadcastBackend is gone", BACKEND)
    methods = {
        name
        for name, value in vars(BroadcastBackend).items()
        if callable(value) and not name.startswith("__")
    }
    require(
        methods == set(BROADCAST_METHODS),
        "broadcaster",
        f"BroadcastBackend's methods are now {sorted(methods)}, not {sorted(BROADCAST_METHODS)}",
        BACKEND,
    )
    for name, names in BROADCAST_METHODS.items():
        require_method(BroadcastBackend, name, names, "broadcaster", BACKEND, is_async=True)


def test_broadcaster_event() -> None:
    from broadcaster import Event

    event = Event(channel="c", message="m")
    require(
        (event.channel, event.message) == ("c", "m"),
        "broadcaster",
        "Event(channel=, message=) changed",
        f"{BACKEND}, graph/realtime/bus.py",
    )


async def test_broadcaster_broadcast_with_backend() -> None:
    """Broadcast(backend=...) drives our backend, and a subscriber is read with `get()`."""
    from broadcaster import Broadcast, Event
    from broadcaster._backends.memory import MemoryBackend

    user = "graph/realtime/bus.py"
    require_keywords(Broadcast, ["backend"], "broadcaster", "Broadcast()", user)
    broadcast = Broadcast(backend=MemoryBackend("memory://"))
    await broadcast.connect()
    try:
        async with broadcast.subscribe("room") as subscriber:
            require(
                inspect.iscoroutinefunction(getattr(subscriber, "get", None)),
                "broadcaster",
                "a subscriber no longer has an async get()",
                user,
            )
            await broadcast.publish("room", "hello")
            event = await asyncio.wait_for(subscriber.get(), timeout=5)
            require(
                isinstance(event, Event) and event.message == "hello",
                "broadcaster",
                f"subscriber.get() returned {event!r}",
                user,
            )
    finally:
        await broadcast.disconnect()


# --- redis-py (graph/realtime/redis_backend.py)


def test_redis_pubsub_calls() -> None:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

    require_keywords(Redis.from_url, ["url"], "redis", "Redis.from_url", BACKEND)
    require_keywords(
        PubSub, ["ignore_subscribe_messages"], "redis", "PubSub() (via Redis.pubsub)", BACKEND
    )
    require_keywords(PubSub.get_message, ["timeout"], "redis", "PubSub.get_message", BACKEND)
    require(
        inspect.iscoroutinefunction(getattr(PubSub, "aclose", None))
        and inspect.iscoroutinefunction(getattr(Redis, "aclose", None)),
        "redis",
        "Redis.aclose / PubSub.aclose are gone",
        BACKEND,
    )


# --- SQLAlchemy (db/session.py)


def test_sqlalchemy_aiosqlite_isolation_level() -> None:
    """The connect hook sets `isolation_level = None` on the aiosqlite adapter to emit BEGIN
    itself (SQLAlchemy's documented recipe for SQLite transactions)."""
    from sqlalchemy.dialects.sqlite import aiosqlite

    adapter = next(
        (
            cls
            for name, cls in vars(aiosqlite).items()
            if name.startswith("AsyncAdapt_aiosqlite_connection") and inspect.isclass(cls)
        ),
        None,
    )
    level = getattr(adapter, "isolation_level", None)
    require(
        isinstance(level, property) and level.fset is not None,
        "SQLAlchemy",
        "the aiosqlite adapter connection no longer has a settable isolation_level",
        "db/session.py",
    )
