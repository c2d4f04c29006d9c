"""Abuse limits: mutation rate per user, connections (WebSockets and HTTP subscription
streams together) per user and per address, request body size."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.client import GraphQLClient, World, token, unique
from tests.support.http_streams import MULTIPART, SSE, open_stream
from tests.support.polling import eventually
from tests.support.servers import ServerProcess, make_server, sqlite_server
from tests.support.ws import connect

RATE = 0.5  # mutations a second per user, after a burst of BURST
BURST = 5
PER_ADDRESS = 3
BODY_BYTES = 4096

RENAME = "mutation($id: ID!, $t: String!) { updateTask(id: $id, input: {title: $t}) { version } }"
SUBSCRIPTION = "subscription($t: ID!) { taskUpdated(taskId: $t) { task { version } } }"
TIGHT_PER_USER = 2
TIGHT_PER_ADDRESS = 4


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own with small limits, on SQLite."""
    with sqlite_server(
        tmp_path_factory.mktemp("abuse"),
        MUTATION_RATE_PER_SECOND=str(RATE),
        MUTATION_BURST=str(BURST),
        MAX_CONNECTIONS_PER_IP=str(PER_ADDRESS),
        MAX_BODY_BYTES=str(BODY_BYTES),
    ) as proc:
        yield proc


@pytest.fixture
def gql(strict: ServerProcess, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(strict.graphql_url, http)


async def _metric(server: ServerProcess, limit: str) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{server.url}/metrics")).text
    line = f'tasklive_refusals_total{{limit="{limit}"}} '
    values = [int(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line)]
    return values[0] if values else 0


async def test_mutations_past_the_burst_are_rate_limited_with_a_retry_after(
    strict: ServerProcess, gql: GraphQLClient
) -> None:
    # The owner spent part of their budget on the world's setup; the member starts afresh
    # and spends all of theirs: one task, then renames.
    world = await World(gql).setup()
    task = await world.create_task("limited", role="member")
    renamer = world.tokens["member"]
    versions = []
    for i in range(BURST - 1):
        data = await gql.data(RENAME, {"id": task["id"], "t": f"v{i}"}, token=renamer)
        versions.append(data["updateTask"]["version"])
    assert versions == sorted(versions) and len(set(versions)) == BURST - 1

    body = await gql.post(RENAME, {"id": task["id"], "t": "refused"}, token=renamer)
    error = body["errors"][0]
    assert body["data"] is None
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= 1 / RATE
    assert "0.5 a second" in error["message"]

    # Another user is not affected, and the refused change left nothing behind.
    seen = await gql.data(
        "query($id: ID!) { task(id: $id) { title version } }",
        {"id": task["id"]},
        token=world.tokens["owner"],
    )
    assert seen["task"] == {"title": f"v{BURST - 2}", "version": versions[-1]}
    assert await _metric(strict, "mutation_rate") >= 1

    # Waiting as long as told is enough.
    await asyncio.sleep(error["extensions"]["retryAfter"])
    data = await gql.data(RENAME, {"id": task["id"], "t": "after the wait"}, token=renamer)
    assert data["updateTask"]["version"] == versions[-1] + 1


async def test_each_mutation_field_of_a_document_counts(gql: GraphQLClient) -> None:
    user = token(unique("aliases"))
    fields = " ".join(f'p{i}: createProject(name: "p{i}") {{ id }}' for i in range(BURST + 2))
    body = await gql.post(f"mutation {{ {fields} }}", token=user)
    # Mutation fields run one after another: the sixth is refused, and as a non-null field
    # its error ends the document; the five before it took effect.
    assert body["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        ([f"p{BURST}"], "RATE_LIMITED")
    ]
    projects = await gql.data("{ projects { name } }", token=user)
    assert sorted(p["name"] for p in projects["projects"]) == [f"p{i}" for i in range(BURST)]


async def test_queries_are_not_rate_limited(gql: GraphQLClient) -> None:
    user = token(unique("reader"))
    for _ in range(BURST * 3):
        await gql.data("{ me { id } projects { id } }", token=user)


async def test_websockets_per_address_are_limited(strict: ServerProcess) -> None:
    before = await _metric(strict, "connections_per_ip")
    user = token(unique("sockets"))
    async with (
        connect(strict.ws_url, token=user) as first,
        connect(strict.ws_url, init=False),
        connect(strict.ws_url, init=False),  # not yet signed in: it counts all the same
    ):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with connect(strict.ws_url, token=user):
                pass
        assert refused.value.response.status_code == 403
        # The sockets already open go on working.
        await first.ws.send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(first.ws.recv(), 10))["type"] == "pong"
    assert await _metric(strict, "connections_per_ip") == before + 1

    # Once they are closed, the address may connect again (the server notices the close
    # asynchronously: retry for a bounded time).
    for _ in range(100):
        try:
            async with connect(strict.ws_url, token=user) as again:
                await again.ws.send('{"type": "ping"}')
                assert json.loads(await asyncio.wait_for(again.ws.recv(), 10))["type"] == "pong"
                return
        except websockets.InvalidStatus:
            await asyncio.sleep(0.05)
    raise AssertionError("the address stayed refused after its sockets were closed")


async def test_a_body_over_the_limit_is_refused_with_413(strict: ServerProcess) -> None:
    sub = unique("body")
    headers = {"authorization": f"Bearer {token(sub)}", "content-type": "application/json"}
    padding = " " * BODY_BYTES
    big = f'{{"query": "{{ me {{ id }} }}"{padding}}}'.encode()
    small = b'{"query": "{ me { id } }"}'

    async def chunked(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    async with httpx.AsyncClient(timeout=10) as http:
        declared = await http.post(strict.graphql_url, content=big, headers=headers)
        streamed = await http.post(strict.graphql_url, content=chunked(big), headers=headers)
        fine = await http.post(strict.graphql_url, content=chunked(small), headers=headers)
    for reply in (declared, streamed):
        assert reply.status_code == 413
        assert "MAX_BODY_BYTES" in reply.text
    assert fine.status_code == 200
    assert fine.json()["data"]["me"]["id"] == sub
    assert await _metric(strict, "body_size") >= 2


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(tmp_path: Path) -> None:
    def via(address: str) -> dict[str, str]:
        return {"x-forwarded-for": address}

    with sqlite_server(
        tmp_path, MAX_CONNECTIONS_PER_IP="1", FORWARDED_ALLOW_IPS="127.0.0.1"
    ) as proc:
        async with (
            connect(proc.ws_url, init=False, additional_headers=via("203.0.113.7")),
            connect(proc.ws_url, init=False, additional_headers=via("203.0.113.8")),
        ):
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with connect(proc.ws_url, init=False, additional_headers=via("203.0.113.7")):
                    pass
            assert refused.value.response.status_code == 403
    assert "203.0.113.7 already holds 1" in proc.log()


# -- HTTP subscription streams are connections too


@pytest.fixture(scope="module")
def tight(
    server: ServerProcess, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server with few connections per user and per address, on each backend (the session's
    server has migrated its database)."""
    proc = make_server(
        tmp_path_factory.mktemp("tight"),
        database_url,
        MAX_CONNECTIONS_PER_USER=str(TIGHT_PER_USER),
        MAX_CONNECTIONS_PER_IP=str(TIGHT_PER_ADDRESS),
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def tight_world(tight: ServerProcess, http: httpx.AsyncClient) -> World:
    world = await World(GraphQLClient(tight.graphql_url, http)).setup()

    async def idle() -> bool:  # what earlier tests opened is closed
        text = (await http.get(f"{tight.url}/metrics")).text
        return "\ntasklive_connections 0\n" in text

    await eventually(idle)
    return world


async def _stream_status(
    server: ServerProcess, role: str, world: World, task_id: str, kind: str = SSE
) -> tuple[int, dict[str, Any] | None]:
    """Open a stream and close it at once: its status, and its body when refused."""
    async with (
        httpx.AsyncClient(timeout=10) as http,
        open_stream(
            http,
            server.graphql_url,
            SUBSCRIPTION,
            {"t": task_id},
            token=world.tokens[role],
            kind=kind,
        ) as response,
    ):
        if response.status_code == 200:
            return 200, None
        return response.status_code, json.loads(await response.aread())


def _assert_refused(reply: tuple[int, dict[str, Any] | None], limit: str, maximum: int) -> None:
    """429, with a GraphQL error naming the limit (as `/metrics` does) and its setting."""
    status, body = reply
    assert status == 429 and body is not None, reply
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_REQUESTS", "limit": limit, "maximum": maximum}
    assert f"MAX_{limit.upper()}" in error["message"]


async def test_streams_and_websockets_of_a_user_count_together(
    tight: ServerProcess, tight_world: World
) -> None:
    world = tight_world
    task = await world.create_task()
    user = world.tokens["viewer"]
    before = await _metric(tight, "connections_per_user")
    async with AsyncExitStack() as held, httpx.AsyncClient(timeout=10) as http:
        await held.enter_async_context(connect(tight.ws_url, token=user))
        stream = await held.enter_async_context(
            open_stream(http, tight.graphql_url, SUBSCRIPTION, {"t": task["id"]}, token=user)
        )
        assert stream.status_code == 200
        # A third connection of the user: a stream of either kind, or a WebSocket.
        for kind in (SSE, MULTIPART):
            refused = await _stream_status(tight, "viewer", world, task["id"], kind)
            _assert_refused(refused, "connections_per_user", TIGHT_PER_USER)
        async with connect(tight.ws_url, init=False) as ws:
            await ws.send({"type": "connection_init", "payload": {"token": user}})
            assert await ws.closed_with() == 4403
        # Another user is not affected.
        assert (await _stream_status(tight, "member", world, task["id"]))[0] == 200
    assert await _metric(tight, "connections_per_user") == before + 3

    # Once the stream and the socket are closed, the user may stream again.
    async def admitted() -> bool:
        return (await _stream_status(tight, "viewer", world, task["id"]))[0] == 200

    await eventually(admitted)


async def test_streams_and_websockets_from_an_address_count_together(
    tight: ServerProcess, tight_world: World
) -> None:
    world = tight_world
    task = await world.create_task()
    before = await _metric(tight, "connections_per_ip")
    async with AsyncExitStack() as held, httpx.AsyncClient(timeout=10) as http:
        await held.enter_async_context(connect(tight.ws_url, init=False))
        for role, kind in (("owner", SSE), ("member", MULTIPART), ("viewer", SSE)):
            stream = await held.enter_async_context(
                open_stream(
                    http,
                    tight.graphql_url,
                    SUBSCRIPTION,
                    {"t": task["id"]},
                    token=world.tokens[role],
                    kind=kind,
                )
            )
            assert stream.status_code == 200
        # The address holds TIGHT_PER_ADDRESS: one more of any kind, of any user, is refused.
        refused = await _stream_status(tight, "outsider", world, task["id"], MULTIPART)
        _assert_refused(refused, "connections_per_ip", TIGHT_PER_ADDRESS)
        with pytest.raises(websockets.InvalidStatus) as handshake:
            async with connect(tight.ws_url, token=world.tokens["outsider"]):
                pass
        assert handshake.value.response.status_code == 403
    assert await _metric(tight, "connections_per_ip") == before + 2

    async def admitted() -> bool:
        return (await _stream_status(tight, "outsider", world, task["id"]))[0] == 200

    await eventually(admitted)
