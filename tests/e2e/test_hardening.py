"""Hardening: expiry required, limits with codes, answers to every subscription, fresh data
per event, private emails, shutdown under a Redis drop and bounded ping replies."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_slow_consumer import rss_kib
from tests.support.client import GraphQLClient, World, token, unique
from tests.support.keys import claims, sign
from tests.support.redis import RedisServer
from tests.support.servers import TEST_SECRET, ServerProcess, make_server, sqlite_server
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
ME = "{ me { id } }"
TASK_CREATED = "subscription($p: ID!) { taskCreated(projectId: $p) { task { id } } }"


@pytest.fixture(scope="module")
def relaxed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Tokens without `exp` allowed, and two operations per connection."""
    tmp: Path = tmp_path_factory.mktemp("relaxed")
    with sqlite_server(tmp, JWT_REQUIRE_EXP="false", MAX_SUBSCRIPTIONS_PER_CONNECTION="2") as proc:
        yield proc


def no_exp_token(sub: str) -> str:
    return sign(claims(sub, exp=None), TEST_SECRET, alg="HS256")


# -- tokens must expire


async def test_a_token_without_exp_is_refused(server: ServerProcess, gql: GraphQLClient) -> None:
    body = await gql.post(ME, token=no_exp_token(unique("forever")))
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    async with connect(server.ws_url, init=False) as ws:
        await ws.send({"type": "connection_init", "payload": {"token": no_exp_token("x")}})
        assert await ws.closed_with() == 4403


async def test_a_token_without_exp_is_accepted_when_configured_off(
    relaxed_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    sub = unique("forever")
    me = await GraphQLClient(relaxed_server.graphql_url, http).data(ME, token=no_exp_token(sub))
    assert me == {"me": {"id": sub}}


# -- the subscription limit has a code


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_subscription_limit_error_has_a_code(
    relaxed_server: ServerProcess, http: httpx.AsyncClient, protocol: str
) -> None:
    world = await World(GraphQLClient(relaxed_server.graphql_url, http)).setup()
    project = world.project_id
    async with connect(relaxed_server.ws_url, token=world.tokens["owner"], protocol=protocol) as ws:
        await ws.subscribe(TASK_CREATED, {"p": project}, op_id="a")
        await ws.subscribe(TASK_CREATED, {"p": project}, op_id="b")
        await ws.subscribe(TASK_CREATED, {"p": project}, op_id="c")
        refused = await ws.recv()
        assert refused["id"] == "c" and refused["type"] == "error", refused
        payload = refused["payload"]
        error = payload[0] if isinstance(payload, list) else payload
        assert error["message"] == "Subscription limit reached"
        assert error["extensions"] == {
            "code": "LIMIT_EXCEEDED",
            "limit": "subscriptions_per_connection",
            "maximum": 2,
        }


# -- email is private


MEMBER_EMAILS = "query($p: ID!) { project(id: $p) { members { user { id email } } } }"
CREATED_BY_EMAIL = (
    "subscription($p: ID!) { taskCreated(projectId: $p) { task { createdBy { id email } } } }"
)


async def emails_world(gql: GraphQLClient) -> tuple[World, dict[str, str]]:
    """A world whose owner and member have recorded emails."""
    world = await World(gql).setup()
    emails = {role: f"{world.ids[role]}@example.com" for role in ("owner", "member")}
    for role, email in emails.items():
        await gql.data(ME, token=token(world.ids[role], email=email))
    return world, emails


async def member_emails(gql: GraphQLClient, project_id: str, jwt: str) -> dict[str, str | None]:
    data = await gql.data(MEMBER_EMAILS, {"p": project_id}, token=jwt)
    return {m["user"]["id"]: m["user"]["email"] for m in data["project"]["members"]}


async def test_email_is_visible_to_its_user_and_admins_only(gql: GraphQLClient) -> None:
    world, emails = await emails_world(gql)
    owner, member, viewer = (world.ids[r] for r in ("owner", "member", "viewer"))
    seen = {
        "owner": await member_emails(gql, world.project_id, world.tokens["owner"]),
        "member": await member_emails(gql, world.project_id, world.tokens["member"]),
        "admin": await member_emails(gql, world.project_id, token(unique("admin"), admin=True)),
    }
    assert seen == {
        "owner": {owner: emails["owner"], member: None, viewer: None},
        "member": {owner: None, member: emails["member"], viewer: None},
        "admin": {owner: emails["owner"], member: emails["member"], viewer: None},
    }
    me = await gql.data("{ me { email } }", token=world.tokens["member"])
    assert me == {"me": {"email": emails["member"]}}

    # The attack: a project of one's own, the victim added to it, its members read.
    mallory = token(unique("mallory"))
    project = await gql.data('mutation { createProject(name: "bait") { id } }', token=mallory)
    bait = project["createProject"]["id"]
    await gql.data(
        "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u) { role } }",
        {"p": bait, "u": owner},
        token=mallory,
    )
    assert (await member_emails(gql, bait, mallory))[owner] is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_email_in_events_is_visible_to_its_user_only(
    server: ServerProcess, gql: GraphQLClient, protocol: str
) -> None:
    world, emails = await emails_world(gql)
    async with (
        connect(server.ws_url, token=world.tokens["owner"], protocol=protocol) as owner_ws,
        connect(server.ws_url, token=world.tokens["member"], protocol=protocol) as member_ws,
    ):
        # The same document and variables: on the fast path, candidates for one group.
        owner_op = await owner_ws.subscribe(CREATED_BY_EMAIL, {"p": world.project_id})
        member_op = await member_ws.subscribe(CREATED_BY_EMAIL, {"p": world.project_id})
        await world.wait_for_project_viewers(2)
        await world.create_task(role="owner")
        by_owner = (await owner_ws.next_data(owner_op))["taskCreated"]["task"]["createdBy"]
        by_member = (await member_ws.next_data(member_op))["taskCreated"]["task"]["createdBy"]
    assert by_owner == {"id": world.ids["owner"], "email": emails["owner"]}
    assert by_member == {"id": world.ids["owner"], "email": None}


# -- every subscription gets an answer


OMITTED_AFTER = (
    "subscription($p: ID!, $a: String!) { taskEvents(projectId: $p, after: $a) { cursor } }"
)
NULL_OVER_DEFAULT = 'subscription($p: ID = "x") { taskCreated(projectId: $p) { task { id } } }'


def assert_bad_user_input(message: dict[str, Any], field: str) -> None:
    assert message["type"] == "error", message
    payload = message["payload"]
    error = payload[0] if isinstance(payload, list) else payload
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_arguments_that_do_not_coerce_get_bad_user_input_and_free_the_id(
    server: ServerProcess, world: World, protocol: str
) -> None:
    async with connect(server.ws_url, token=world.tokens["member"], protocol=protocol) as ws:
        await ws.subscribe(OMITTED_AFTER, {"p": world.project_id}, op_id="1")
        assert_bad_user_input(await ws.recv(), "a")
        await ws.subscribe(NULL_OVER_DEFAULT, {"p": None}, op_id="1")
        assert_bad_user_input(await ws.recv(), "projectId")
        # The id is free again: the same id subscribes and gets its event.
        await ws.subscribe(TASK_CREATED, {"p": world.project_id}, op_id="1")
        await world.wait_for_project_viewers(1)
        task = await world.create_task()
        assert (await ws.next_data("1"))["taskCreated"]["task"]["id"] == task["id"]


async def test_an_explicit_null_for_a_non_null_argument_is_bad_user_input_over_http(
    gql: GraphQLClient, world: World
) -> None:
    error = await gql.error(
        'query($p: ID = "x") { project(id: $p) { id } }', {"p": None}, token=world.tokens["owner"]
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}, error


# -- each event reads the database afresh


EVENT_PEOPLE = """
subscription($p: ID!) { taskEvents(projectId: $p) { ...People } }
fragment People on TaskEvent {
  ... on TaskUpdatedEvent { updatedBy { name } task { project { members { user { id } } } } }
}
"""
SET_STATUS = "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) { id } }"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_later_event_shows_a_renamed_user_and_the_current_members(
    server: ServerProcess, gql: GraphQLClient, world: World, protocol: str
) -> None:
    task = await world.create_task()
    owner = world.ids["owner"]

    async def change(ws: Any, status: str) -> dict[str, Any]:
        # A token without a name: it leaves the recorded name as it is.
        await gql.data(SET_STATUS, {"t": task["id"], "s": status}, token=token(owner))
        event: dict[str, Any] = (await ws.next_data())["taskEvents"]
        return event

    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as ws:
        await ws.subscribe(EVENT_PEOPLE, {"p": world.project_id})
        await world.wait_for_project_viewers(1)
        first = await change(ws, "IN_PROGRESS")
        assert first["updatedBy"] == {"name": "Owner"}
        assert len(first["task"]["project"]["members"]) == 3

        await gql.data(ME, token=token(owner, name="Owner Renamed"))  # the server records it
        newcomer = unique("newcomer")
        await gql.data(ME, token=token(newcomer))
        await gql.data(
            "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u) { role } }",
            {"p": world.project_id, "u": newcomer},
            token=token(owner),
        )
        later = await change(ws, "COMPLETED")
    assert later["updatedBy"] == {"name": "Owner Renamed"}
    assert newcomer in {m["user"]["id"] for m in later["task"]["project"]["members"]}


async def test_each_query_over_a_socket_reads_the_database_afresh(
    server: ServerProcess, gql: GraphQLClient, world: World
) -> None:
    """graphql-transport-ws runs queries too (the legacy protocol only subscriptions)."""
    names = "query($p: ID!) { project(id: $p) { members { user { name } } } }"

    async def member_names(ws: Any) -> set[str]:
        op = await ws.subscribe(names, {"p": world.project_id})
        members = (await ws.next_data(op))["project"]["members"]
        assert (await ws.recv())["type"] == "complete"
        return {m["user"]["name"] for m in members}

    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        assert await member_names(ws) == {"Owner", "Member", "Viewer"}
        await gql.data(ME, token=token(world.ids["member"], name="Member Renamed"))
        assert await member_names(ws) == {"Owner", "Member Renamed", "Viewer"}


# -- shutdown whatever Redis does


GRACE_SECONDS = 3.0


@pytest.mark.parametrize("after_drop", [0.0, 0.1])
def test_sigterm_just_after_a_redis_drop_exits_within_the_grace_period(
    tmp_path: Path, after_drop: float
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    server = make_server(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path}/t.db",
        BROADCAST_URL=redis.url,
        SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
    )
    try:
        server.start()
        deadline = time.monotonic() + 10
        while httpx.get(f"{server.url}/readyz", timeout=2).status_code != 200:
            assert time.monotonic() < deadline, "the broker never became ready"
            time.sleep(0.05)
        redis.stop()
        time.sleep(after_drop)  # the scenario: the signal comes this long after the drop
        assert server.proc is not None
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {GRACE_SECONDS} s after SIGTERM:\n{server.log()[-3000:]}")
        assert time.monotonic() - started < GRACE_SECONDS
    finally:
        server.kill()
        redis.stop()


# -- a peer that pings and never reads


FLOOD_SECONDS = 20.0
RSS_MARGIN_KIB = 20 * 1024
PING_FRAME_PAYLOAD = b"p" * 125  # the largest a ping frame may carry
JSON_PING = json.dumps({"type": "ping", "payload": {"p": "p" * 100}}).encode()


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask); payloads up to 65535 bytes."""
    mask = os.urandom(4)
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + size.to_bytes(2)
    return (
        bytes([0x80 | opcode])
        + length
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


async def flood_pings_without_reading(
    server: ServerProcess, frame: bytes, protocol: str
) -> tuple[bool, int]:
    """Open a WebSocket and send `frame` over and over, never reading the replies, until the
    server drops the connection; whether it did, and the server's peak RSS meanwhile (KiB)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    batch = frame * (65536 // len(frame))
    peak = rss_kib(server)
    deadline = time.monotonic() + FLOOD_SECONDS
    try:
        while time.monotonic() < deadline:
            writer.write(batch)
            # The server may stop reading (backpressure): a bounded wait, then look again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.drain(), timeout=0.2)
            peak = max(peak, rss_kib(server))
        return False, peak
    except ConnectionError:
        return True, peak
    finally:
        writer.transport.abort()


@pytest.fixture(scope="module")
def ping_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with sqlite_server(
        tmp_path_factory.mktemp("pings"), CONNECTION_INIT_TIMEOUT_SECONDS="1"
    ) as proc:
        yield proc


@pytest.mark.parametrize(
    ("frame", "protocol"),
    [
        (masked_frame(0x9, PING_FRAME_PAYLOAD), TRANSPORT_WS),
        (masked_frame(0x9, PING_FRAME_PAYLOAD), LEGACY_WS),
        (masked_frame(0x1, JSON_PING), TRANSPORT_WS),
    ],
    ids=["ping-frames-transport-ws", "ping-frames-legacy-ws", "ping-messages-transport-ws"],
)
async def test_a_peer_that_pings_and_never_reads_is_closed_with_memory_bounded(
    ping_server: ServerProcess, http: httpx.AsyncClient, frame: bytes, protocol: str
) -> None:
    """Ping frames are answered below the app: past SUBSCRIBER_BUFFER_BYTES unread the socket
    is closed (1013) and dropped. graphql-transport-ws `ping` messages are answered through
    the app, whose sends wait for the peer to read: this one is closed at its
    connection_init timeout."""
    world = await World(GraphQLClient(ping_server.graphql_url, http)).setup()
    async with connect(ping_server.ws_url, token=world.tokens["member"]) as bystander:
        op = await bystander.subscribe(TASK_CREATED, {"p": world.project_id})
        await world.wait_for_project_viewers(1)
        before = rss_kib(ping_server)
        started = time.monotonic()
        closed, peak = await flood_pings_without_reading(ping_server, frame, protocol)
        print(
            f"\nserver RSS {before // 1024} -> peak {peak // 1024} MiB; "
            f"{'closed' if closed else 'open'} after {time.monotonic() - started:.1f} s"
        )
        assert closed, f"the flooding socket was still open after {FLOOD_SECONDS} s"
        assert peak - before < RSS_MARGIN_KIB, (before, peak)
        # The other socket is unaffected.
        task = await world.create_task()
        assert (await bystander.next_data(op))["taskCreated"]["task"]["id"] == task["id"]
