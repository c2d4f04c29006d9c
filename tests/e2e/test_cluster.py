"""Two server processes on Redis and PostgreSQL: events, figures and faults across them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, World, token
from tests.support.cluster import Cluster, running_cluster
from tests.support.polling import eventually
from tests.support.ws import GraphQLWS, connect

EVENTS = (
    "subscription($p: ID!) { taskEvents(projectId: $p) "
    "{ cursor ... on TaskUpdatedEvent { task { id version } } } }"
)
STATS = "{ realtimeStats { connections subscriptions instances { id connections } } }"
ADMIN = token("cluster-admin", admin=True)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path) as cluster:
        yield cluster


@pytest.fixture
async def clients(cluster: Cluster) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    async with httpx.AsyncClient(timeout=20) as http:
        yield GraphQLClient(cluster.a.graphql_url, http), GraphQLClient(cluster.b.graphql_url, http)


async def stats(client: GraphQLClient) -> dict[str, Any]:
    data = await client.data(STATS, token=ADMIN)
    result: dict[str, Any] = data["realtimeStats"]
    return result


async def collect(ws: GraphQLWS, op: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    return [(await ws.next_data(op, timeout=timeout))["taskEvents"] for _ in range(count)]


async def test_an_event_made_on_one_instance_reaches_a_subscriber_on_the_other(
    cluster: Cluster, clients: tuple[GraphQLClient, GraphQLClient]
) -> None:
    on_a, on_b = clients
    # Both instances prove their broker subscription with a heartbeat round trip.
    for server in (cluster.a, cluster.b):
        ready = await eventually(functools.partial(_broker_ok, on_a.http, server.url))
        assert ready["broker"] == "ok"
    world = await World(on_b).setup()
    task = await world.create_task()
    async with connect(cluster.a.ws_url, token=world.tokens["viewer"]) as ws:
        op = await ws.subscribe(EVENTS, {"p": world.project_id})
        figures = await eventually(
            lambda: _both_instances_count(on_b, connections=1, subscriptions=1)
        )
        assert len(figures["instances"]) == 2
        await on_b.data(
            "mutation($t: ID!) { updateTaskStatus(id: $t, status: IN_PROGRESS) { version } }",
            {"t": task["id"]},
            token=world.tokens["member"],
        )
        event = (await ws.next_data(op))["taskEvents"]
        assert event["task"] == {"id": task["id"], "version": 2}
        # It came through Redis, not (only) through the periodic check of the event log.
        metrics = (await on_a.http.get(f"{cluster.a.url}/metrics")).text
        received = re.search(r"^tasklive_events_received_total (\d+)", metrics, re.MULTILINE)
        assert received is not None and int(received.group(1)) >= 2
        # Both instances report the same deployment-wide figures.
        assert (await stats(on_a))["connections"] == (await stats(on_b))["connections"] == 1


async def _broker_ok(http: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    response = await http.get(f"{url}/readyz")
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 else None


async def _both_instances_count(
    client: GraphQLClient, *, connections: int, subscriptions: int
) -> dict[str, Any] | None:
    figures = await stats(client)
    ok = (
        len(figures["instances"]) == 2
        and figures["connections"] == connections
        and figures["subscriptions"] == subscriptions
    )
    return figures if ok else None


async def test_a_redis_outage_loses_no_event(
    cluster: Cluster, clients: tuple[GraphQLClient, GraphQLClient]
) -> None:
    on_a, on_b = clients
    world = await World(on_a).setup()
    tasks = [await world.create_task(f"t{i}") for i in range(3)]
    statuses = ["IN_PROGRESS", "COMPLETED", "PENDING"]
    changes = 0

    async def write(client: GraphQLClient, n: int) -> None:
        nonlocal changes
        for _ in range(n):
            await client.data(
                "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) "
                "{ version } }",
                {"t": tasks[changes % 3]["id"], "s": statuses[(changes // 3) % 3]},
                token=world.tokens["member"],
            )
            changes += 1

    async with (
        connect(cluster.a.ws_url, token=world.tokens["viewer"]) as on_a_ws,
        connect(cluster.b.ws_url, token=world.tokens["viewer"]) as on_b_ws,
    ):
        op_a = await on_a_ws.subscribe(EVENTS, {"p": world.project_id})
        op_b = await on_b_ws.subscribe(EVENTS, {"p": world.project_id})
        await eventually(lambda: _both_instances_count(on_a, connections=2, subscriptions=2))
        await write(on_a, 5)
        cluster.redis.stop()
        await write(on_a, 5)
        await write(on_b, 5)
        cluster.redis.start()
        await write(on_b, 5)
        got_a = await collect(on_a_ws, op_a, changes)
        got_b = await collect(on_b_ws, op_b, changes)
    log = await on_a.data(
        "query($p: ID!) { taskEvents(projectId: $p, first: 100) { cursor } }",
        {"p": world.project_id},
        token=world.tokens["viewer"],
    )
    expected = [e["cursor"] for e in log["taskEvents"]][3:]  # after the three creates
    assert len(expected) == changes == 20
    assert [e["cursor"] for e in got_a] == expected
    assert [e["cursor"] for e in got_b] == expected


@contextlib.asynccontextmanager
async def _watching_on_a(
    cluster: Cluster, on_b: GraphQLClient, world: World
) -> AsyncIterator[GraphQLWS]:
    """The viewer's socket on instance a, following the project's events, once b counts it."""
    async with connect(cluster.a.ws_url, token=world.tokens["viewer"]) as ws:
        await ws.subscribe(EVENTS, {"p": world.project_id})
        await eventually(lambda: _both_instances_count(on_b, connections=1, subscriptions=1))
        yield ws


async def test_a_killed_instance_vanishes_from_the_figures(
    cluster: Cluster, clients: tuple[GraphQLClient, GraphQLClient]
) -> None:
    _, on_b = clients
    world = await World(on_b).setup()
    async with _watching_on_a(cluster, on_b, world):
        cluster.a.kill()
        started = asyncio.get_running_loop().time()
        figures = await eventually(lambda: _only_one_instance(on_b), timeout=30)
        vanished_after = asyncio.get_running_loop().time() - started
    assert figures["connections"] == 0
    assert vanished_after < 3 + 2  # the presence TTL, plus the refresh margin


async def _only_one_instance(client: GraphQLClient) -> dict[str, Any] | None:
    figures = await stats(client)
    return figures if len(figures["instances"]) == 1 else None


async def test_sigterm_closes_sockets_with_1001_and_leaves_presence_at_once(
    cluster: Cluster, clients: tuple[GraphQLClient, GraphQLClient]
) -> None:
    _, on_b = clients
    world = await World(on_b).setup()
    async with _watching_on_a(cluster, on_b, world) as ws:
        assert cluster.a.proc is not None
        cluster.a.proc.send_signal(signal.SIGTERM)
        assert await ws.closed_with(timeout=10) == 1001
    code = await asyncio.to_thread(cluster.a.proc.wait, 15)
    # uvicorn re-raises the signal it handled once shutdown is done.
    assert code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in cluster.a.log()
    figures = await stats(on_b)
    assert len(figures["instances"]) == 1 and figures["connections"] == 0
