"""Property-based fuzzing of the GraphQL endpoint over HTTP and both WebSocket protocols.

Documents are built from the real schema's type, field, argument and enum names, mixed with
junk: broken syntax, deep nesting, many aliases, long strings, odd Unicode (NUL, lone
surrogates, bidi marks), wrong variable types and nulls. Every reply must be a well-formed
GraphQL response (or a 4xx) and every WebSocket must end with a close code from the contract
or keep answering; the server must keep serving afterwards. The seed is fixed
(`derandomize=True`) and the counts bounded so the file runs in seconds on each backend;
for a longer run (`bench/fuzz.py`), `FUZZ_SCALE` multiplies the counts and `FUZZ_SEED` picks
other inputs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from websockets.sync.client import connect as ws_connect

from tests.support.client import GraphQLClient, World
from tests.support.documents import aliased_fragments, doubling_fragments, fragment_chain
from tests.support.servers import ServerProcess
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

TASK_UPDATED = "subscription($t: ID!) { taskUpdated(taskId: $t) { cursor task { version } } }"
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
SEED = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else None
HTTP_EXAMPLES = 400 * SCALE
# The weight of fragment-heavy documents (other kinds weigh 14 in all); bench/fuzz.py
# --fragments raises it.
FRAGMENT_SHARE = int(os.environ.get("FUZZ_FRAGMENT_SHARE", "3"))
WS_EXAMPLES = 200 * SCALE
TIMEOUT = 10.0
SCHEMA: GraphQLSchema = build_schema(
    (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
)
ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
MAX_MESSAGE_BYTES = 64 * 1024  # the server's default WS_MAX_MESSAGE_BYTES
RESET_AFTER_BYTES = 8 * 1024
CONTRACT_CLOSES = {4400, 4401, 4403, 4408, 4409, 4429, 1000, 1001, 1009, 1013}
TRACEBACK_MARKERS = ("Traceback", 'File "')

ODD = [
    "\x00",
    "\ud800",
    "\udfff",
    "\u202e",
    "\ufeff",
    "\u0301",
    "\U0001f600",
    "\uffff",
    "\x7f",
    "\\",
    '"',
    "'",
    "\n",
    "{",
    "}",
    "$",
    "#",
    "...",
    "\U0001d518",
    "\u0000\u0000",
]
JUNK_NAMES = ["__typename", "__schema", "nope", "_", "a" * 300, "me", "id", "on", "fragment"]


def odd_text(max_size: int = 12) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(ODD), st.text(max_size=6))
    return st.lists(piece, max_size=max_size).map("".join)


class Fuzz:
    """Strategies that know the schema and a few real ids, so some inputs reach the resolvers."""

    def __init__(self, ids: list[str], tokens: list[str]) -> None:
        self.ids = ids
        self.tokens = tokens

    def strings(self) -> st.SearchStrategy[str]:
        return st.one_of(
            odd_text(),
            st.sampled_from(self.ids),
            st.integers(200, 20_000).map(lambda n: "x" * n),
            st.uuids().map(str),
        )

    def json_values(self) -> st.SearchStrategy[Any]:
        scalars = st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=False, allow_infinity=False),
            self.strings(),
            st.sampled_from(["PENDING", "COMPLETED", "OWNER", "FOO", ""]),
        )
        return st.recursive(
            scalars,
            lambda inner: st.one_of(
                st.lists(inner, max_size=4),
                st.dictionaries(st.sampled_from(["projectId", "title", "status", "x"]), inner),
            ),
            max_leaves=8,
        )

    @st.composite
    def literal(draw: st.DrawFn, self: Fuzz, depth: int = 0) -> str:
        """A GraphQL value literal, of any type (mostly the wrong one)."""
        choice = draw(st.integers(0, 8 if depth < 2 else 5))
        if choice == 0:
            return "null"
        if choice == 1:
            return str(draw(st.integers(-(2**70), 2**70)))
        if choice == 2:
            return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
        if choice == 3:
            return json.dumps(draw(self.strings()))  # \u escapes, lone surrogates included
        if choice == 4:
            return '"' + draw(odd_text()) + '"'  # raw, unescaped
        if choice == 5:
            enum = draw(st.sampled_from(["TaskStatus", "ProjectRole"]))
            enum_type = SCHEMA.type_map[enum]
            assert isinstance(enum_type, GraphQLEnumType)
            values = list(enum_type.values)
            return str(draw(st.sampled_from([*values, "FOO", "true"])))
        if choice == 6:
            return "$" + draw(st.sampled_from(["a", "b", "undeclared"]))
        if choice == 7:
            items = draw(st.lists(self.literal(depth + 1), max_size=3))
            return "[" + ", ".join(items) + "]"
        fields = draw(
            st.lists(
                st.sampled_from(["projectId", "title", "status", "assigneeId", "zz"]), max_size=4
            )
        )
        return "{" + ", ".join(f"{f}: {draw(self.literal(depth + 1))}" for f in fields) + "}"

    @st.composite
    def selection(draw: st.DrawFn, self: Fuzz, type_name: str, depth: int) -> str:
        """A selection set on `type_name`, sometimes with junk fields, aliases and arguments."""
        gtype = SCHEMA.type_map.get(type_name)
        if not isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType) or depth > 14:
            return "{ " + draw(st.sampled_from(JUNK_NAMES)) + " }"
        names = list(gtype.fields)
        picks = draw(
            st.lists(st.sampled_from([*names * 4, *JUNK_NAMES[:3]]), min_size=1, max_size=4)
        )
        parts: list[str] = []
        for name in picks:
            text = name
            if draw(st.integers(0, 4)) == 0:
                text = f"{draw(st.sampled_from(['a', 'b', 'x1', 'me']))}: {text}"
            field = gtype.fields.get(name)
            arg_names = list(field.args) if field is not None else []
            args = draw(
                st.lists(st.sampled_from([*arg_names * 4, "bogus"]), max_size=3, unique=True)
            )
            if len(args) > 0 and draw(st.booleans()):
                text += "(" + ", ".join(f"{a}: {draw(self.literal())}" for a in args) + ")"
            inner = _named(field.type) if field is not None else None
            if inner is not None and isinstance(inner, GraphQLObjectType | GraphQLInterfaceType):
                if isinstance(inner, GraphQLInterfaceType) and draw(st.booleans()):
                    impl = draw(
                        st.sampled_from(
                            ["TaskCreatedEvent", "TaskUpdatedEvent", "TaskDeletedEvent", "Nope"]
                        )
                    )
                    text += " { ... on " + impl + " " + draw(self.selection(impl, depth + 1)) + " }"
                else:
                    text += " " + draw(self.selection(inner.name, depth + 1))
            elif draw(st.integers(0, 9)) == 0:
                text += " { id }"  # a selection on a scalar
            parts.append(text)
        return "{ " + " ".join(parts) + " }"

    @st.composite
    def fragments(draw: st.DrawFn, self: Fuzz) -> str:
        """Fragment-heavy documents: spreads that double at each level, long chains of
        fragments, many aliases inside fragments spread many times."""
        on = draw(st.sampled_from(["Query", "Query", "Subscription", "Task", "Nope"]))
        leaf = draw(self.selection(on, 1))[1:-1] if on in ROOTS.values() else "id"
        kind = draw(st.integers(0, 2))
        if kind == 0:
            text = doubling_fragments(draw(st.integers(3, 60)), on=on, leaf=leaf)
        elif kind == 1:
            text = fragment_chain(draw(st.integers(2, 600)), leaf=leaf)
        else:
            text = aliased_fragments(
                draw(st.integers(1, 80)), leaf=draw(st.sampled_from(["id", "name", "nope"]))
            )
        if draw(st.booleans()):
            # A cycle, an unknown spread or a repeated definition: validation errors.
            text += " " + draw(
                st.sampled_from(
                    [
                        "fragment F0 on Query { ...F0 }",
                        "fragment Z on Query { ...Missing }",
                        "fragment C0 on Query { me { id } }",
                    ]
                )
            )
        return text

    @st.composite
    def document(draw: st.DrawFn, self: Fuzz) -> str:
        kind = draw(st.sampled_from([6] * 8 + [7] * FRAGMENT_SHARE + list(range(6))))
        if kind == 7:
            return draw(self.fragments())
        if kind == 0:
            return draw(odd_text(40)) or "{"
        if kind == 1:
            depth = draw(st.integers(10, 3000))
            return "{ " + "me { " * depth + "id" + " }" * (depth + 1)
        if kind == 2:
            count = draw(st.integers(20, 400))
            return "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(count)) + " }"
        if kind == 3:
            nested = draw(st.integers(50, 5000))
            return "{ projects " + "{" * nested + "}" * draw(st.integers(0, nested))
        operation = draw(st.sampled_from(list(ROOTS)))
        header = operation
        if draw(st.booleans()):
            header += " " + draw(st.sampled_from(["Op", "x", "op" * 50]))
        variables = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["a", "b", "c"]),
                    st.sampled_from(
                        ["ID!", "String", "Int", "[ID!]!", "TaskStatus", "Foo", "CreateTaskInput!"]
                    ),
                ),
                max_size=3,
            )
        )
        if variables:
            header += "(" + ", ".join(f"${n}: {t}" for n, t in variables) + ")"
        text = header + " " + draw(self.selection(ROOTS[operation], 0))
        if kind == 4:
            # Mutate a well-formed document: cut, repeat or poison a slice.
            at = draw(st.integers(0, len(text)))
            end = draw(st.integers(at, min(len(text), at + 20)))
            how = draw(st.integers(0, 2))
            if how == 0:
                text = text[:at] + text[end:]
            elif how == 1:
                text = text[:end] + text[at:end] * draw(st.integers(2, 50)) + text[end:]
            else:
                text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
        if kind == 5:
            text += " " + text  # two anonymous operations
        return text

    @st.composite
    def request(draw: st.DrawFn, self: Fuzz) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request`."""
        headers: dict[str, str] = {}
        auth = draw(st.sampled_from(["good"] * 6 + ["none", "garbage"]))
        if auth == "good":
            headers["authorization"] = f"Bearer {draw(st.sampled_from(self.tokens))}"
        elif auth == "garbage":
            printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
            headers["authorization"] = "Bearer " + draw(st.text(printable, min_size=1))
        accept = draw(
            st.sampled_from(
                [None, "application/json", "application/graphql-response+json", "*/*", "text/plain"]
            )
        )
        if accept is not None:
            headers["accept"] = accept
        body: dict[str, Any] = {"query": draw(self.document())}
        # Mostly well-formed JSON bodies, so most documents reach validation and execution.
        shape = draw(st.sampled_from([10] * 10 + list(range(10))))
        if shape == 0:
            body["query"] = draw(self.json_values())
        if shape in (1, 2, 3):
            body["variables"] = draw(
                st.dictionaries(
                    st.sampled_from(["a", "b", "c", "i"]), self.json_values(), max_size=3
                )
            )
        if shape == 4:
            body["variables"] = draw(self.json_values())
        if shape == 5:
            body["operationName"] = draw(st.one_of(self.json_values(), st.just("Op")))
        if shape == 6:
            body["extensions"] = draw(self.json_values())
        if shape == 7:
            # Bytes, or JSON that is not an object (`5`, `null`, a list): both once were 500s.
            json_text = self.json_values().map(lambda value: json.dumps(value).encode())
            raw = draw(st.one_of(st.binary(max_size=200), json_text))
            headers["content-type"] = "application/json"
            return {"method": "POST", "content": raw, "headers": headers}
        if shape == 8:
            headers["content-type"] = draw(
                st.sampled_from(["application/graphql", "text/plain", "multipart/form-data", "x/y"])
            )
            content = body["query"] if isinstance(body["query"], str) else ""
            return {"method": "POST", "content": _encode(content), "headers": headers}
        if shape == 9:
            params = {"query": body["query"] if isinstance(body["query"], str) else "{ me { id } }"}
            if draw(st.booleans()):
                params["variables"] = draw(st.sampled_from(["{", "null", "[]", '{"a": 1}', "\x00"]))
            # Percent-encoded by hand: httpx refuses to encode a lone surrogate.
            query = urlencode({k: _encode(v) for k, v in params.items()})
            return {"method": "GET", "query_string": query, "headers": headers}
        headers["content-type"] = "application/json"
        # ensure_ascii keeps lone surrogates as \\ud800 escapes: valid JSON, invalid Unicode.
        return {"method": "POST", "content": json.dumps(body).encode(), "headers": headers}

    def messages(self) -> st.SearchStrategy[Any]:
        """graphql-transport-ws messages with wrong types, ids and payloads."""
        kinds = st.sampled_from(
            [
                "connection_init",
                "subscribe",
                "complete",
                "ping",
                "pong",
                "next",
                "error",
                "connection_ack",
                "start",
                "stop",
                "ka",
                "connection_terminate",
                "data",
                "",
                "SUBSCRIBE",
            ]
        )
        ids = st.one_of(st.sampled_from(["1", "2", ""]), self.json_values())
        payloads = st.one_of(
            self.json_values(),
            st.fixed_dictionaries(
                {"query": st.one_of(self.document(), self.json_values())},
                optional={
                    "variables": self.json_values(),
                    "operationName": self.json_values(),
                    "extensions": self.json_values(),
                },
            ),
        )
        return st.fixed_dictionaries(
            {},
            optional={"type": st.one_of(kinds, self.json_values()), "id": ids, "payload": payloads},
        )

    @st.composite
    def frame(draw: st.DrawFn, self: Fuzz, protocol: str) -> str | bytes | list[str]:
        """One WebSocket frame (a list: several frames sent back to back)."""
        start, stop = ("subscribe", "complete") if protocol == TRANSPORT_WS else ("start", "stop")
        kind = draw(st.integers(0, 11))
        if kind <= 1:
            return json.dumps(draw(self.messages()))
        if kind <= 4:
            op = draw(st.sampled_from(["1", "2"]))
            query = draw(st.sampled_from([TASK_UPDATED, draw(self.document())]))
            variables = draw(
                st.one_of(
                    st.fixed_dictionaries({"t": self.strings()}),
                    st.dictionaries(st.sampled_from(["t", "a", "b"]), self.json_values()),
                )
            )
            payload = {"query": query, "variables": variables}
            subscribe = {"type": start, "id": op, "payload": payload}
            then = draw(st.sampled_from([[], [stop], [stop, start], [start]]))
            frames = [json.dumps(subscribe)]
            for step in then:
                message = subscribe if step == start else {"type": stop, "id": op}
                frames.append(json.dumps(message))
            return frames
        if kind == 5:
            return json.dumps({"type": draw(st.sampled_from(["ping", "pong"]))})
        kind -= 2
        if kind == 4:
            return draw(odd_text(30)).encode("utf-8", "replace").decode("utf-8")
        if kind == 5:
            return draw(st.binary(max_size=300))
        if kind == 6:
            return json.dumps(draw(self.messages())).encode()
        if kind == 7:
            return json.dumps(
                draw(st.one_of(st.lists(st.integers()), st.integers(), st.text(), st.none()))
            )
        if kind == 8:
            size = draw(st.integers(64 * 1024 - 64, 80 * 1024))
            return json.dumps({"type": "ping", "payload": {"pad": "x" * size}})
        return [json.dumps({"type": "ping"})] * draw(st.integers(10, 200))

    @st.composite
    def session(draw: st.DrawFn, self: Fuzz, protocol: str) -> tuple[Any, list[str | bytes]]:
        """What a client says first (`None`: nothing), then the fuzzed frames."""
        good = {"type": "connection_init", "payload": {"authorization": f"Bearer {self.tokens[0]}"}}
        init = draw(
            st.sampled_from(
                [
                    good,
                    good,
                    good,
                    {"type": "connection_init", "payload": {"token": self.tokens[2]}},
                    {"type": "connection_init", "payload": {"authorization": "Bearer nope"}},
                    {"type": "connection_init", "payload": None},
                    None,
                ]
            )
        )
        frames: list[str | bytes] = []
        for frame in draw(st.lists(self.frame(protocol), min_size=1, max_size=4)):
            frames.extend(frame if isinstance(frame, list) else [frame])
        return init, frames


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _named(gtype: Any) -> Any:
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        gtype = gtype.of_type
    return gtype


def check_http_reply(response: httpx.Response) -> str:
    """Fails unless the reply is well formed; a label of the outcome, for the tally."""
    status = response.status_code
    assert status == 200 or 400 <= status < 500, (status, response.text[:2000])
    text = response.text
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, text[:2000]
    # Refusals before GraphQL runs (not JSON, no query, a wrong method) are GraphQL
    # responses too: JSON with an `errors` list (they once were plain text).
    assert response.headers.get("content-type", "").split(";")[0] in (
        "application/json",
        "application/graphql-response+json",
    ), (status, response.headers, text[:2000])
    body = response.json()
    assert isinstance(body, dict), text[:2000]
    errors = body.get("errors")
    if errors is None:
        assert status == 200 and "data" in body, text[:2000]
        return f"{status} data"
    assert isinstance(errors, list) and errors, text[:2000]
    for error in errors:
        assert isinstance(error.get("message"), str), error
        assert isinstance(error.get("extensions", {}).get("code"), str), text[:2000]
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", text[:2000]
    return f"{status} {errors[0]['extensions']['code']}"


@pytest.fixture
async def fuzz(world: World, gql: GraphQLClient) -> Fuzz:
    task = await world.create_task("fuzz target")
    return Fuzz(
        [world.project_id, task["id"], world.ids["member"], world.ids["owner"]],
        [world.tokens["owner"], world.tokens["viewer"], world.tokens["outsider"]],
    )


async def test_http_fuzz_gets_well_formed_replies(
    server: ServerProcess, fuzz: Fuzz, gql: GraphQLClient
) -> None:
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    client = httpx.Client(timeout=TIMEOUT)

    @settings(
        max_examples=HTTP_EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @seed(SEED)
    @given(fuzz.request())
    def one(request: dict[str, Any]) -> None:
        url = server.graphql_url
        if "query_string" in request:
            url += "?" + request.pop("query_string")
        nonlocal slowest
        response = client.request(url=url, **request)
        slowest = max(slowest, response.elapsed.total_seconds())
        outcomes[check_http_reply(response)] += 1

    with client:
        await asyncio.to_thread(one)
    print(
        f"http fuzz: {outcomes.total()} inputs tried, slowest reply {slowest * 1000:.0f} ms, "
        f"outcomes {dict(outcomes.most_common())}"
    )
    assert outcomes.total() >= HTTP_EXAMPLES // 2
    assert (await gql.data("{ me { id } }", token=fuzz.tokens[0]))["me"]["id"]


SERVER_MESSAGES = {
    TRANSPORT_WS: {"connection_ack", "next", "error", "complete", "ping", "pong"},
    LEGACY_WS: {"connection_ack", "connection_error", "ka", "data", "error", "complete"},
}
PROBE = "fuzz-probe"


def check_ws_message(raw: str | bytes, protocol: str) -> dict[str, Any]:
    assert isinstance(raw, str), raw
    for marker in TRACEBACK_MARKERS:
        assert marker not in raw, raw[:2000]
    message: dict[str, Any] = json.loads(raw)
    kind = message.get("type")
    assert kind in SERVER_MESSAGES[protocol], message
    if kind in ("next", "data"):
        for error in message["payload"].get("errors") or []:
            assert isinstance(error["extensions"]["code"], str), message
    if kind == "error":
        # graphql-transport-ws sends a list of errors; the legacy protocol one error.
        payload = message["payload"]
        errors = payload if protocol == TRANSPORT_WS else [payload]
        assert isinstance(errors, list) and errors, message
        for error in errors:
            assert isinstance(error["message"], str), message
            if protocol == TRANSPORT_WS:
                assert isinstance(error["extensions"]["code"], str), message
    return message


def _probe(protocol: str) -> tuple[str, set[str]]:
    """A message the server must answer, and the kinds of answer that end the session."""
    if protocol == TRANSPORT_WS:
        # Strawberry's pong carries no payload, so any pong counts as the answer.
        return json.dumps({"type": "ping"}), {"pong"}
    start = {"type": "start", "id": PROBE, "payload": {"query": "{ __typename }"}}
    return json.dumps(start), {"data", "error"}


def run_ws_session(url: str, protocol: str, init: Any, frames: list[str | bytes]) -> str:
    """Play one fuzzed session; how it ended: "open" (it still answered) or a close code."""
    probe, answers = _probe(protocol)
    with ws_connect(
        url,
        subprotocols=[protocol],  # type: ignore[list-item]
        open_timeout=TIMEOUT,
        close_timeout=2,
        max_size=None,
        max_queue=None,  # a bounded queue stops reading, so a flood's close would wait 2 s
    ) as ws:
        try:
            if init is not None:
                ws.send(json.dumps(init))
            for frame in frames:
                ws.send(frame)
            ws.send(probe)
            while True:
                try:
                    raw = ws.recv(timeout=TIMEOUT)
                except TimeoutError:
                    raise AssertionError(f"no reply in {TIMEOUT} s: {init} {frames}") from None
                message = check_ws_message(raw, protocol)
                if message["type"] in answers and message.get("id") in (None, PROBE):
                    return "open"
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            if code is None and sum(map(len, frames)) > RESET_AFTER_BYTES:
                # The server closed (a 1009 for an oversized frame, a 4400 for a bad one) while
                # we were still sending: its kernel answers our unread bytes with a reset,
                # which can overtake the close frame. Only a client sending that much races so.
                return "reset while sending"
            assert code in CONTRACT_CLOSES, (code, closed, init, frames)
            return str(code)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_websocket_fuzz_gets_contract_close_codes_or_answers(
    server: ServerProcess, fuzz: Fuzz, world: World, gql: GraphQLClient, protocol: str
) -> None:
    endings: Counter[str] = Counter()

    @settings(
        max_examples=WS_EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        derandomize=SEED is None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @seed(SEED)
    @given(fuzz.session(protocol))
    def one(session: tuple[Any, list[str | bytes]]) -> None:
        endings[run_ws_session(server.ws_url, protocol, *session)] += 1

    # A well-behaved client, subscribed all through the fuzz, is served as before.
    task = await world.create_task("beside the fuzz")
    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as ws:
        op = await ws.subscribe(TASK_UPDATED, {"t": task["id"]})
        await world.wait_for_viewers(task["id"])
        await asyncio.to_thread(one)
        print(f"websocket fuzz ({protocol}): {endings.total()} sessions, endings {dict(endings)}")
        assert endings.total() >= WS_EXAMPLES // 2
        await gql.data(
            "mutation($t: ID!) { updateTaskStatus(id: $t, status: COMPLETED) { version } }",
            {"t": task["id"]},
            token=world.tokens["member"],
        )
        assert (await ws.next_data(op))["taskUpdated"]["task"] == {"version": 2}
