"""`/metrics`: the Prometheus text of the live layer, and its figures moving with real traffic."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient, World
from tests.support.servers import ServerProcess, make_server
from tests.support.ws import connect

TASK_EVENTS = """
subscription($p: ID!) {
  taskEvents(projectId: $p) { cursor ... on TaskCreatedEvent { task { id } } }
}"""
FAMILIES = {
    "tasklive_connections": "gauge",
    "tasklive_subscriptions": "gauge",
    "tasklive_events_published_total": "counter",
    "tasklive_events_delivered_total": "counter",
    "tasklive_delivery_latency_seconds": "histogram",
    "tasklive_websocket_closes_total": "counter",
    "tasklive_slow_consumer_closes_total": "counter",
    "tasklive_broker_reconnects_total": "counter",
    "tasklive_events_backfilled_total": "counter",
}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")
LATENCY = "tasklive_delivery_latency_seconds"
WAIT = 10.0

Samples = dict[str, float]


@pytest.fixture(scope="module")
def metrics_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp: Path = tmp_path_factory.mktemp("metrics")
    return tmp, f"sqlite+aiosqlite:///{tmp}/t.db"


@pytest.fixture(scope="module")
def metrics_server(metrics_db: tuple[Path, str]) -> Iterator[ServerProcess]:
    """A server of its own, so that every figure is this module's doing."""
    proc = make_server(*metrics_db, GAP_CHECK_INTERVAL_SECONDS="0.5")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def client(metrics_server: ServerProcess, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(metrics_server.graphql_url, http)


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """`# TYPE` of each family, and each sample (`name{labels}` -> value)."""
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in types, f"family {name} declared twice"
            types[name] = kind
        elif line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels, value = match.groups()
            key = name + (labels or "")
            assert key not in samples, f"sample {key} twice"
            samples[key] = float(value)
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
            assert family in types, f"sample {key} of an undeclared family"
    assert helps == set(types), "every family has HELP and TYPE"
    return types, samples


async def scrape(http: httpx.AsyncClient, server: ServerProcess) -> Samples:
    response = await http.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    _, samples = parse(response.text)
    return samples


async def until_moved(
    http: httpx.AsyncClient, server: ServerProcess, before: Samples, expected: dict[str, float]
) -> Samples:
    """Scrape until each named sample has moved by the expected amount from `before`."""
    moved: dict[str, float] = {}
    try:
        async with asyncio.timeout(WAIT):
            while True:
                now = await scrape(http, server)
                moved = {k: now.get(k, 0.0) - before.get(k, 0.0) for k in expected}
                if moved == expected:
                    return now
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"moved by {moved}, expected {expected}") from None


async def test_metrics_are_prometheus_text_with_every_family(
    metrics_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{metrics_server.url}/metrics")
    assert response.status_code == 200
    types, samples = parse(response.text)
    assert {name: types.get(name) for name in FAMILIES} == FAMILIES
    buckets = [(k, v) for k, v in samples.items() if k.startswith(f"{LATENCY}_bucket{{")]
    assert buckets[-1][0] == f'{LATENCY}_bucket{{le="+Inf"}}'
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "histogram buckets are cumulative"
    assert counts[-1] == samples[f"{LATENCY}_count"]
    for name in ("connections", "events_published_total", "broker_reconnects_total"):
        assert f"tasklive_{name}" in samples


async def test_figures_move_when_a_subscription_opens_and_events_are_delivered(
    metrics_server: ServerProcess, http: httpx.AsyncClient, client: GraphQLClient
) -> None:
    world = await World(client).setup()
    subscriptions = 'tasklive_subscriptions{operation="taskEvents"}'
    before = await scrape(http, metrics_server)
    async with connect(metrics_server.ws_url, token=world.tokens["viewer"]) as ws:
        op = await ws.subscribe(TASK_EVENTS, {"p": world.project_id})
        opened = await until_moved(
            http, metrics_server, before, {"tasklive_connections": 1, subscriptions: 1}
        )
        created = [await world.create_task(f"t{i}") for i in range(3)]
        received = [(await ws.next_data(op))["taskEvents"]["task"]["id"] for _ in created]
        assert received == [t["id"] for t in created]
        delivered = await until_moved(
            http,
            metrics_server,
            opened,
            {
                "tasklive_events_published_total": 3,
                "tasklive_events_delivered_total": 3,
                f'{LATENCY}_bucket{{le="+Inf"}}': 3,
                f"{LATENCY}_count": 3,
            },
        )
        assert delivered[f"{LATENCY}_sum"] > opened.get(f"{LATENCY}_sum", 0.0)
        assert (
            delivered[f'{LATENCY}_bucket{{le="10.0"}}'] - opened[f'{LATENCY}_bucket{{le="10.0"}}']
            == 3
        )
    closed = await until_moved(
        http, metrics_server, before, {"tasklive_connections": 0, subscriptions: 0}
    )
    # A healthy in-memory broker never reconnects, and nothing had to be fetched from the log.
    for name in ("tasklive_broker_reconnects_total", "tasklive_events_backfilled_total"):
        assert closed[name] == before[name]


async def test_a_refused_socket_is_counted_by_close_code(
    metrics_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    refused = 'tasklive_websocket_closes_total{code="4403"}'
    malformed = 'tasklive_websocket_closes_total{code="4400"}'
    before = await scrape(http, metrics_server)
    async with connect(metrics_server.ws_url, init=False) as ws:
        await ws.send({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})
        assert await ws.closed_with() == 4403
    # Closes by the protocol handlers count too, not only those of the live layer.
    async with connect(metrics_server.ws_url, init=False) as ws:
        await ws.ws.send("[]")
        assert await ws.closed_with() == 4400
    await until_moved(
        http, metrics_server, before, {refused: 1, malformed: 1, "tasklive_connections": 0}
    )


async def test_an_event_whose_publish_never_arrived_is_backfilled_from_the_log(
    metrics_db: tuple[Path, str],
    metrics_server: ServerProcess,
    http: httpx.AsyncClient,
    client: GraphQLClient,
) -> None:
    """A second process on the same database but its own in-memory broker: its events are
    never published to the first, which must find them in the event log on its own."""
    world = await World(client).setup()
    before = await scrape(http, metrics_server)
    other = make_server(*metrics_db)
    other.start()
    try:
        async with connect(metrics_server.ws_url, token=world.tokens["viewer"]) as ws:
            op = await ws.subscribe(TASK_EVENTS, {"p": world.project_id})
            await until_moved(
                http,
                metrics_server,
                before,
                {'tasklive_subscriptions{operation="taskEvents"}': 1},
            )
            created = await GraphQLClient(other.graphql_url, http).data(
                "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
                {"i": {"projectId": world.project_id, "title": "made elsewhere"}},
                token=world.tokens["member"],
            )
            event = (await ws.next_data(op))["taskEvents"]
            assert event["task"] == {"id": created["createTask"]["id"]}
            await until_moved(
                http,
                metrics_server,
                before,
                {"tasklive_events_backfilled_total": 1, "tasklive_events_published_total": 0},
            )
    finally:
        other.stop()
