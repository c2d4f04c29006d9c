"""The third-party internals our code patches, subclasses or reaches into, held to their shape.

`constraints.txt` pins the versions these were written against; an upgrade that moves one
fails here, naming the package, its version, what changed and which of our files relies on
it, instead of as a hung socket or a silent leak in production. One test per internal, so
that a failure names exactly one. Only third-party objects are imported here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from typing import Any, NoReturn, get_origin

import pytest


def broken(dist: str, problem: str, user: str) -> NoReturn:
    pytest.fail(f"{dist} {version(dist)}: {problem}; relied on by {user}", pytrace=False)


def internal(dist: str, path: str, user: str) -> Any:
    """`module:attribute`, imported; a module or name that moved fails naming the package."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        broken(dist, f"the module {module_name} is gone", user)
    if not hasattr(module, attribute):
        broken(dist, f"{module_name}.{attribute} is gone", user)
    return getattr(module, attribute)


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


def require_source(
    func: Callable[..., Any], fragments: list[str], dist: str, problem: str, user: str
) -> None:
    """`func`'s source still holds `fragments`: for behaviour we build on that only its
    code shows (a close code it sends, a step our override repeats)."""
    source = inspect.getsource(func)
    missing = [fragment for fragment in fragments if fragment not in source]
    require(not missing, dist, f"{problem} (no {', '.join(map(repr, missing))})", user)


def require_init_sets(cls: type, names: list[str], dist: str, user: str) -> None:
    """`cls.__init__` still sets the attributes `names` (on `self`) that we read or write."""
    require_source(
        cls.__init__,  # type: ignore[misc]
        [f"self.{name}" for name in names],
        dist,
        f"{cls.__name__}.__init__ no longer sets an attribute we use",
        user,
    )


# --- graphql-core: the per-event executor (execution/per_event_executor.py, ws/groups.py, fastpath)

LEAKFIX = "graph/execution/per_event_executor.py"
GROUPS = "graph/ws/groups.py, graph/ws/fastpath.py"
SUBSCRIPTION_SDL = """
    type Query { dummy: String }
    type Subscription { greeting(name: String!): String }
"""


def executor_class() -> Any:
    return internal("graphql-core", "graphql.execution.executor:Executor", f"{LEAKFIX}, {GROUPS}")


def graphql_executor(document: str = "subscription($n: String!) { greeting(name: $n) }") -> Any:
    from graphql import build_schema, parse

    Executor = executor_class()

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
    executor = executor_class()
    require(
        inspect.isclass(executor),
        "graphql-core",
        "graphql.execution.executor.Executor is no longer a class",
        f"{LEAKFIX}, {GROUPS}",
    )


def test_graphql_core_executor_build() -> None:
    Executor = executor_class()

    require_keywords(
        Executor.build,
        ["schema", "document", "context_value", "raw_variable_values", "operation_name"],
        "graphql-core",
        "Executor.build",
        "graph/ws/fastpath.py",
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
        "graph/ws/fastpath.py",
    )


def test_graphql_core_build_per_event_executor() -> None:
    Executor = executor_class()

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


# Run in a fresh interpreter: once the app is built in this process (other tests of the
# suite), leakfix has patched build_per_event_executor and the upstream behaviour is hidden.
MEMO_PROBE = """
from graphql import build_schema, parse
from graphql.execution.executor import Executor
schema = build_schema('type Query { a: String } type Subscription { greeting: String }')
executor = Executor.build(schema, parse('subscription { greeting }'))
per_event = executor.build_per_event_executor({'greeting': 'hi'})
memo = vars(per_event).get('_relevant_sub_fields')
if not isinstance(memo, dict):
    print('missing')
elif memo is vars(executor).get('_relevant_sub_fields'):
    print('shared')
else:
    print('own')
"""


def test_graphql_core_relevant_sub_fields() -> None:
    """The memo leakfix replaces: an instance attribute, a dict, shared by the shallow copy
    (the leak). A per-event executor with its own memo means upstream fixed it: the patch
    can go; one without the attribute means the patch silently does nothing."""
    probe = subprocess.run(
        [sys.executable, "-c", MEMO_PROBE], capture_output=True, text=True, timeout=60
    )
    outcome = probe.stdout.strip() or probe.stderr.strip().splitlines()[-1]
    require(
        outcome != "missing",
        "graphql-core",
        "a per-event Executor no longer has a `_relevant_sub_fields` dict in its __dict__",
        LEAKFIX,
    )
    require(
        outcome == "shared",
        "graphql-core",
        "build_per_event_executor no longer shares `_relevant_sub_fields` with the "
        f"subscription's executor ({outcome}: the leak may be fixed upstream: check, then "
        "drop the patch)",
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
        "graph/ws/groups.py",
    )
    result = execute_subscription_event(
        graphql_executor().build_per_event_executor({"greeting": "hi"})
    )
    require(
        isinstance(result, ExecutionResult) and result.data == {"greeting": "hi"},
        "graphql-core",
        f"execute_subscription_event(per-event executor) returned {result!r}",
        "graph/ws/groups.py",
    )


def test_graphql_core_variable_and_argument_values() -> None:
    from graphql import OperationDefinitionNode, build_schema, parse

    get_argument_values = internal(
        "graphql-core", "graphql.execution.values:get_argument_values", "graph/ws/fastpath.py"
    )
    get_variable_values = internal(
        "graphql-core", "graphql.execution.values:get_variable_values", "graph/ws/fastpath.py"
    )

    user = "graph/ws/fastpath.py"
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
    arguments = get_argument_values(subscription.fields["greeting"], field_node, coerced)
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
            "graph/execution/extensions.py (LimitedParserCache matches its text)",
        )
    else:
        broken("graphql-core", "parse(max_tokens=3) no longer refuses a longer document", "")


# --- strawberry-graphql: the graphql-transport-ws handler (graph/ws/transport.py)

TRANSPORT = "graph/ws/transport.py"


def transport_handler() -> Any:
    return internal(
        "strawberry-graphql",
        "strawberry.subscriptions.protocols.graphql_transport_ws.handlers:"
        "BaseGraphQLTransportWSHandler",
        TRANSPORT,
    )


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
    BaseGraphQLTransportWSHandler = transport_handler()

    require_method(
        BaseGraphQLTransportWSHandler, name, names, "strawberry-graphql", TRANSPORT, is_async=True
    )


def test_strawberry_transport_ws_handler_attributes() -> None:
    BaseGraphQLTransportWSHandler = transport_handler()

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
    BaseGraphQLTransportWSHandler = transport_handler()

    require_source(
        BaseGraphQLTransportWSHandler.handle_subscribe,
        ["in self.operations", "4409"],
        "strawberry-graphql",
        "BaseGraphQLTransportWSHandler.handle_subscribe no longer closes a reused id "
        "(found in self.operations) with 4409",
        TRANSPORT,
    )


def test_strawberry_transport_ws_connection_init() -> None:
    """The base class hands the `connection_init` payload to our Context (which has a
    `connection_params` attribute) and closes with 4403 on ConnectionRejectionError."""
    BaseGraphQLTransportWSHandler = transport_handler()

    require_source(
        BaseGraphQLTransportWSHandler.handle_connection_init,
        ["self.context.connection_params = payload", "ConnectionRejectionError", "4403"],
        "strawberry-graphql",
        "BaseGraphQLTransportWSHandler.handle_connection_init no longer sets "
        "context.connection_params and closes a rejected connection with 4403",
        f"graph/http/view.py (on_ws_connect), {TRANSPORT}",
    )


def test_strawberry_transport_ws_invalid_message_closes_4400() -> None:
    BaseGraphQLTransportWSHandler = transport_handler()

    require_source(
        BaseGraphQLTransportWSHandler.handle_invalid_message,
        ["4400"],
        "strawberry-graphql",
        "BaseGraphQLTransportWSHandler.handle_invalid_message no longer closes with 4400",
        TRANSPORT,
    )


def test_strawberry_transport_ws_operation() -> None:
    Operation = internal(
        "strawberry-graphql",
        "strawberry.subscriptions.protocols.graphql_transport_ws.handlers:Operation",
        TRANSPORT,
    )

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


# --- strawberry-graphql: the legacy graphql-ws handler (graph/ws/legacy.py)

LEGACY = "graph/ws/legacy.py"


def legacy_handler() -> Any:
    return internal(
        "strawberry-graphql",
        "strawberry.subscriptions.protocols.graphql_ws.handlers:BaseGraphQLWSHandler",
        LEGACY,
    )


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
    BaseGraphQLWSHandler = legacy_handler()

    require_method(BaseGraphQLWSHandler, name, names, "strawberry-graphql", LEGACY, is_async=True)


def test_strawberry_graphql_ws_handler_attributes() -> None:
    BaseGraphQLWSHandler = legacy_handler()

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
    BaseGraphQLWSHandler = legacy_handler()

    require_source(
        BaseGraphQLWSHandler.handle,
        [
            "self.websocket.iter_json(",
            "self.handle_message(",
            "self.keep_alive_task",
            "self.cleanup()",
        ],
        "strawberry-graphql",
        "BaseGraphQLWSHandler.handle changed; our _read_messages re-implements it",
        LEGACY,
    )


def test_strawberry_graphql_ws_start_before_ack_closes_4401() -> None:
    BaseGraphQLWSHandler = legacy_handler()

    require_source(
        BaseGraphQLWSHandler.handle_start,
        ["self.connection_acknowledged", "4401"],
        "strawberry-graphql",
        "BaseGraphQLWSHandler.handle_start no longer closes a `start` before the "
        "acknowledged connection_init with 4401",
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
        f"graph/http/view.py, {LEGACY}",
    )


# --- strawberry-graphql: the ASGI view (graph/http/view.py, graph/http/streams.py)

VIEW = "graph/http/view.py"


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
    AsyncBaseHTTPView = internal(
        "strawberry-graphql", "strawberry.http.async_base_view:AsyncBaseHTTPView", VIEW
    )
    from strawberry.schema.exceptions import InvalidOperationTypeError

    require_source(
        AsyncBaseHTTPView.execute_single,
        [f"except {InvalidOperationTypeError.__name__}", "raise HTTPException("],
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
        f"{VIEW}, graph/http/streams.py",
    )
    error = HTTPException(400, "no")
    require(
        (error.status_code, error.reason) == (400, "no"),
        "cross-web",
        "HTTPException(status_code, reason) no longer keeps status_code and reason",
        f"{VIEW}, graph/http/streams.py",
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
        f"{VIEW}, graph/execution/extensions.py",
    )


def test_strawberry_stream_transports() -> None:
    MultipartSubscriptionTransport = internal(
        "strawberry-graphql",
        "strawberry.http.streaming:MultipartSubscriptionTransport",
        "graph/http/streams.py",
    )
    SSETransport = internal(
        "strawberry-graphql", "strawberry.http.streaming:SSETransport", "graph/http/streams.py"
    )

    user = "graph/http/streams.py"
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


# --- strawberry-graphql: schema extensions (graph/execution/extensions.py)

EXTENSIONS = "graph/execution/extensions.py"


def test_strawberry_execution_context_fields() -> None:
    ExecutionContext = internal(
        "strawberry-graphql", "strawberry.types.execution:ExecutionContext", EXTENSIONS
    )

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
    ParseOptions = internal(
        "strawberry-graphql", "strawberry.types.execution:ParseOptions", EXTENSIONS
    )

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
    cls = getattr(importlib.import_module(module), name)
    require_keywords(cls, ["maxsize"], "strawberry-graphql", f"{name}()", EXTENSIONS)
    method = getattr(cls, hook, None)
    require(
        method is not None and inspect.isgeneratorfunction(method),
        "strawberry-graphql",
        f"{name}.{hook} is no longer a generator hook (we `yield from super().{hook}()`)",
        EXTENSIONS,
    )


# --- uvicorn: the sans-I/O WebSocket protocol (graph/ws/uvicorn_protocol.py, graph/ws/frames.py)

UVICORN_WS = "graph/ws/uvicorn_protocol.py, graph/ws/frames.py"


def sansio_protocol() -> Any:
    return internal(
        "uvicorn",
        "uvicorn.protocols.websockets.websockets_sansio_impl:WebSocketsSansIOProtocol",
        UVICORN_WS,
    )


async def _noop_app(scope: Any, receive: Any, send: Any) -> None:
    return None


def uvicorn_protocol() -> Any:
    from uvicorn.config import Config

    WebSocketsSansIOProtocol = sansio_protocol()
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
    WebSocketsSansIOProtocol = sansio_protocol()

    require_method(
        WebSocketsSansIOProtocol,
        "handle_ping",
        [],
        "uvicorn",
        "graph/ws/uvicorn_protocol.py",
        is_async=False,
    )
    require_source(
        WebSocketsSansIOProtocol.handle_events,
        ["self.handle_ping()"],
        "uvicorn",
        "WebSocketsSansIOProtocol.handle_events no longer calls self.handle_ping()",
        "graph/ws/uvicorn_protocol.py",
    )


def test_uvicorn_sansio_send_is_bound_method() -> None:
    """The app's `send` must be the protocol's bound method: RawSocket finds the protocol
    (and so the transport) through `send.__self__`."""
    WebSocketsSansIOProtocol = sansio_protocol()

    require_source(
        WebSocketsSansIOProtocol.run_asgi,
        ["self.app(self.scope, self.receive, self.send)"],
        "uvicorn",
        "WebSocketsSansIOProtocol.run_asgi no longer passes its bound `send` to the app",
        "graph/ws/frames.py, graph/http/middleware.py",
    )


def test_uvicorn_config_takes_protocol_class() -> None:
    from uvicorn.config import Config

    WebSocketsSansIOProtocol = sansio_protocol()

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
        Server, "handle_exit", ["sig", "frame"], "uvicorn", "graph/ops/shutdown.py", is_async=False
    )
    require_source(
        Server.capture_signals,
        ["signal.signal(", "self.handle_exit"],
        "uvicorn",
        "Server.capture_signals no longer installs its handlers with signal.signal",
        "graph/ops/shutdown.py",
    )


# --- broadcaster (graph/realtime/bus.py, graph/realtime/backends/redis.py)

BACKEND = "graph/realtime/backends/redis.py"
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
    BroadcastBackend = internal(
        "broadcaster", "broadcaster._backends.base:BroadcastBackend", BACKEND
    )
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

    MemoryBackend = internal(
        "broadcaster",
        "broadcaster._backends.memory:MemoryBackend",
        "graph/realtime/backends/memory.py",
    )

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


# --- redis-py (graph/realtime/backends/redis.py)


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
