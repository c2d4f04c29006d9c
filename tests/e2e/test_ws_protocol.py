"""WebSocket protocol rules on both protocols: auth at connection_init and close codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.client import GraphQLClient, World, token
from tests.support.servers import ServerProcess, make_server, sqlite_server
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
TASK_UPDATED = "subscription($t: ID!) { taskUpdated(taskId: $t) { task { version } } }"


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with a 1 s connection_init wait and 2 connections per user."""
    tmp: Path = tmp_path_factory.mktemp("strict")
    with sqlite_server(
        tmp, CONNECTION_INIT_TIMEOUT_SECONDS="1", MAX_CONNECTIONS_PER_USER="2"
    ) as proc:
        yield proc


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"authorization": "Bearer not-a-jwt"},
        {"authorization": "Bearer " + token("x", ttl=timedelta(seconds=-10))},
        {"token": 12345},
    ],
    ids=["missing", "garbage", "expired", "not-a-string"],
)
async def test_a_refused_token_closes_with_4403_before_ack(
    server: ServerProcess, protocol: str, payload: dict[str, object]
) -> None:
    async with connect(server.ws_url, protocol=protocol, init=False) as ws:
        await ws.send({"type": "connection_init", "payload": payload})
        assert await ws.closed_with() == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("key", ["authorization", "Authorization", "token"])
async def test_every_token_key_is_accepted(server: ServerProcess, protocol: str, key: str) -> None:
    value = token("keys-user", name="Keys")
    async with connect(server.ws_url, protocol=protocol, init=False) as ws:
        ack = await ws.init({key: value if key == "token" else f"Bearer {value}"})
        assert ack["type"] == "connection_ack"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_subscribe_before_connection_init_closes_with_4401(
    server: ServerProcess, world: World, protocol: str
) -> None:
    task = await world.create_task()
    async with connect(server.ws_url, protocol=protocol, init=False) as ws:
        await ws.subscribe(TASK_UPDATED, {"t": task["id"]})
        assert await ws.closed_with() == 4401


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_second_connection_init_closes_with_4429(
    server: ServerProcess, world: World, protocol: str
) -> None:
    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as ws:
        await ws.send({"type": "connection_init", "payload": {"token": world.tokens["viewer"]}})
        assert await ws.closed_with() == 4429


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_no_connection_init_in_time_closes_with_4408(
    strict_server: ServerProcess, protocol: str
) -> None:
    async with connect(strict_server.ws_url, protocol=protocol, init=False) as ws:
        assert await ws.closed_with(timeout=5) == 4408


async def test_duplicate_operation_id_closes_with_4409(server: ServerProcess, world: World) -> None:
    task = await world.create_task()
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        await ws.subscribe(TASK_UPDATED, {"t": task["id"]}, op_id="same")
        await ws.subscribe(TASK_UPDATED, {"t": task["id"]}, op_id="same")
        assert await ws.closed_with() == 4409


async def test_a_query_over_the_legacy_protocol_is_a_bad_request(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    """subscriptions-transport-ws runs subscriptions only here: a query gets a client error
    (it was a masked INTERNAL_SERVER_ERROR), and the socket goes on serving."""
    task = await world.create_task()
    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=LEGACY_WS) as ws:
        op = await ws.subscribe("query { me { id } }")
        refused = await ws.recv()
        assert (refused["type"], refused["id"]) == ("error", op), refused
        assert refused["payload"]["extensions"] == {"code": "BAD_REQUEST"}, refused
        assert refused["payload"]["message"] == "queries are not allowed"
        live = await ws.subscribe(TASK_UPDATED, {"t": task["id"]})
        await world.wait_for_viewers(task["id"])
        changed = await gql.data(
            "mutation($t: ID!) { updateTaskStatus(id: $t, status: IN_PROGRESS) { version } }",
            {"t": task["id"]},
            token=world.tokens["member"],
        )
        version = changed["updateTaskStatus"]["version"]
        assert (await ws.next_data(live))["taskUpdated"]["task"]["version"] == version


async def test_malformed_message_closes_with_4400(server: ServerProcess, world: World) -> None:
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        await ws.send({"type": "subscribe", "id": "1"})  # no payload
        assert await ws.closed_with() == 4400


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "message",
    [
        {"type": ["subscribe"], "id": "1"},
        {"id": "1"},
        [],
        "text",
        5,
        {"type": "start", "id": "1", "payload": [2]},
        {"type": "start", "payload": {"query": "{ me { id } }"}},
        {"type": "stop"},
        {"type": "subscribe", "id": "1", "payload": []},
        {"type": "subscribe", "id": "1", "payload": {"query": 5}},
        {"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }", "variables": [1]}},
    ],
    ids=[
        "list-type",
        "no-type",
        "array",
        "string",
        "number",
        "bad-start",
        "no-id",
        "stop",
        "list-payload",
        "number-query",
        "list-variables",
    ],
)
async def test_messages_that_are_not_protocol_objects_close_with_4400(
    server: ServerProcess, world: World, protocol: str, message: object
) -> None:
    if protocol == LEGACY_WS and isinstance(message, dict) and message.get("type") == "subscribe":
        message = {**message, "type": "start"}  # the legacy protocol's name for it
    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as ws:
        await ws.send(message)  # type: ignore[arg-type]
        assert await ws.closed_with() == 4400


async def test_close_reasons_quoting_the_client_are_cut_to_fit_the_frame(
    server: ServerProcess, world: World
) -> None:
    """Strawberry quotes an unknown type or a reused id in the close reason; past 123 bytes
    the close itself failed and the socket dropped without a code."""
    task = await world.create_task()
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        await ws.send({"type": "é" * 300})
        assert await ws.closed_with() == 4400
        assert ws.ws.close_reason is not None
        assert len(ws.ws.close_reason.encode()) <= 123
    long_id = "\ud800" + "x" * 500  # a lone surrogate too: it is not UTF-8
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        await ws.subscribe(TASK_UPDATED, {"t": task["id"]}, op_id=long_id)
        await ws.subscribe(TASK_UPDATED, {"t": task["id"]}, op_id=long_id)
        assert await ws.closed_with() == 4409


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("frame", [b"\x00binary", "{not json"], ids=["binary", "not-json"])
async def test_frames_that_are_not_json_text_close_with_4400(
    server: ServerProcess, world: World, protocol: str, frame: str | bytes
) -> None:
    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as ws:
        await ws.ws.send(frame)
        assert await ws.closed_with() == 4400


async def test_lone_surrogates_in_ids_and_variables_still_get_their_events(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    """JSON may escape a lone surrogate (\\ud800), which is not UTF-8: replies quoting it are
    escaped the same way instead of failing to encode (the subscriptions once went silent)."""
    task = await world.create_task()
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        odd_id = await ws.subscribe(TASK_UPDATED, {"t": task["id"]}, op_id="\ud800")
        odd_vars = await ws.subscribe(TASK_UPDATED, {"t": task["id"], "x": "\udfff"})
        await world.wait_for_viewers(task["id"])
        await gql.data(
            "mutation($t: ID!) { updateTaskStatus(id: $t, status: COMPLETED) { version } }",
            {"t": task["id"]},
            token=world.tokens["member"],
        )
        got = {(await ws.recv())["id"], (await ws.recv())["id"]}
        assert got == {odd_id, odd_vars}
    body = json.dumps({"query": '{ me(x: "\\\ud800") { id } }'})  # ensure_ascii: \\ud800
    reply = await gql.http.post(gql.url, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 200
    assert reply.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_a_subscription_to_another_projects_task_is_forbidden(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task("secret")
    async with connect(server.ws_url, token=world.tokens["outsider"]) as ws:
        op = await ws.subscribe(TASK_UPDATED, {"t": task["id"]})
        message = await ws.recv()
        assert message["id"] == op
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")
        assert "secret" not in str(message)


async def test_connections_per_user_are_limited(strict_server: ServerProcess) -> None:
    user = token("busy-user")
    async with (
        connect(strict_server.ws_url, token=user),
        connect(strict_server.ws_url, token=user),
        connect(strict_server.ws_url, init=False) as third,
    ):
        await third.send({"type": "connection_init", "payload": {"token": user}})
        assert await third.closed_with() == 4403


async def test_a_websocket_from_a_foreign_origin_is_refused(server: ServerProcess) -> None:
    with pytest.raises(websockets.InvalidStatus):
        async with connect(server.ws_url, init=False, origin="http://evil.example"):
            pass
    async with connect(
        server.ws_url,
        token=token("origin-user"),
        origin="http://localhost:5173",
    ):
        pass


async def test_token_expiry_closes_the_socket_with_4403_and_resume_loses_nothing(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    short = token(world.ids["viewer"], name="Viewer", ttl=timedelta(seconds=2))
    async with connect(server.ws_url, token=short) as ws:
        op = await ws.subscribe(
            "subscription($t: ID!) { taskUpdated(taskId: $t) { cursor task { version } } }",
            {"t": task["id"]},
        )
        await world.wait_for_viewers(task["id"])
        await gql.data(
            "mutation($t: ID!) { updateTaskStatus(id: $t, status: IN_PROGRESS) { version } }",
            {"t": task["id"]},
            token=world.tokens["member"],
        )
        cursor = (await ws.next_data(op))["taskUpdated"]["cursor"]
        assert await ws.closed_with(timeout=6) == 4403
    await gql.data(
        "mutation($t: ID!) { updateTaskStatus(id: $t, status: COMPLETED) { version } }",
        {"t": task["id"]},
        token=world.tokens["member"],
    )
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        op = await ws.subscribe(
            "subscription($t: ID!, $a: String) { taskUpdated(taskId: $t, after: $a) "
            "{ task { version status } } }",
            {"t": task["id"], "a": cursor},
        )
        missed = (await ws.next_data(op))["taskUpdated"]["task"]
    assert missed == {"version": 3, "status": "COMPLETED"}


def test_workers_above_one_on_memory_broadcaster_are_refused(tmp_path: Path) -> None:
    proc = make_server(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/t.db", ["--workers", "2"])
    proc.start(wait=False)
    assert proc.proc is not None
    code = proc.proc.wait(30)
    assert code != 0
    assert "redis" in proc.log().lower()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{proc.url}/healthz", timeout=1)


async def test_per_message_compression_is_off_even_when_the_client_offers_it(
    server: ServerProcess,
) -> None:
    async with connect(server.ws_url, token=token("deflate-user"), compression="deflate") as ws:
        assert ws.ws.response is not None
        assert "sec-websocket-extensions" not in ws.ws.response.headers
