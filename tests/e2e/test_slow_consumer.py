"""A client that stops reading: closed with 1013, resumes without loss; others are unaffected."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.client import GraphQLClient, World
from tests.support.servers import ServerProcess, sqlite_server
from tests.support.ws import GraphQLWS, connect

QUEUE_LIMIT = 20
DESCRIPTION = "x" * 10_000
TASKS = 100
# Each bulk update changes BURST tasks at once: a burst of BURST events reaches every
# subscriber's queue before it can run, so a burst above the queue limit would overflow a
# subscriber that reads promptly too (seen under CPU load with bursts of 100).
BURST = QUEUE_LIMIT // 2
MAX_ROUNDS = 300  # bulk updates, at most
RSS_MARGIN_KIB = 100 * 1024
# The slow client asks for the big description; the reader only for the cursor.
BIG_EVENTS = """
subscription($p: ID!, $a: String) {
  taskEvents(projectId: $p, after: $a) {
    cursor
    ... on TaskUpdatedEvent { task { description } }
    ... on TaskCreatedEvent { task { description } }
  }
}"""
SMALL_EVENTS = "subscription($p: ID!) { taskEvents(projectId: $p) { cursor } }"
BULK = """
mutation($ids: [ID!]!, $s: TaskStatus!) { bulkUpdateTaskStatus(ids: $ids, status: $s) { id } }"""
LOG = "query($p: ID!, $a: String) { taskEvents(projectId: $p, after: $a, first: 100) { cursor } }"


@pytest.fixture(scope="module", params=["fast-path", "strawberry-path"])
def slow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Live subscriptions served by subscription groups (the default) or by Strawberry's
    per-subscription execution (what the legacy protocol and HTTP streams use)."""
    tmp: Path = tmp_path_factory.mktemp("slow")
    with sqlite_server(
        tmp,
        SUBSCRIBER_QUEUE_LIMIT=str(QUEUE_LIMIT),
        MAX_BULK_IDS="10",  # the queue must hold one whole bulk change
        FAST_PATH=str(request.param == "fast-path").lower(),
    ) as proc:
        yield proc


def rss_kib(server: ServerProcess) -> int:
    status = Path(f"/proc/{server.pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))


async def metric(http: httpx.AsyncClient, server: ServerProcess, name: str) -> float:
    text = (await http.get(f"{server.url}/metrics")).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


async def event_log(world: World) -> list[str]:
    """Every cursor of the project's event log, in order."""
    cursors: list[str] = []
    while True:
        data = await world.client.data(
            LOG,
            {"p": world.project_id, "a": cursors[-1] if cursors else None},
            token=world.tokens["owner"],
        )
        page = [e["cursor"] for e in data["taskEvents"]]
        cursors += page
        if len(page) < 100:
            return cursors


async def read_cursors(ws: GraphQLWS, op: str, into: list[str]) -> None:
    """Read a subscription for as long as it runs, keeping each event's cursor."""
    while True:
        into.append((await ws.next_data(op, timeout=30))["taskEvents"]["cursor"])


async def drain(ws: GraphQLWS, op: str) -> tuple[list[str], list[dict[str, Any]], int | None]:
    """Read what a closed-by-the-server socket still holds: event cursors, other messages, code."""
    cursors: list[str] = []
    others: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(30):
            while True:
                message = json.loads(await ws.ws.recv())
                payload = message.get("payload") or {}
                if message.get("type") == "next" and message["id"] == op and payload.get("data"):
                    event = payload["data"]["taskEvents"]
                    assert event.get("task", {"description": DESCRIPTION}) == {
                        "description": DESCRIPTION
                    }
                    cursors.append(event["cursor"])
                elif message.get("type") not in ("ping", "pong"):
                    others.append(message)
    except websockets.ConnectionClosed:
        pass
    return cursors, others, ws.ws.close_code


async def test_a_client_that_stops_reading_is_closed_with_1013_and_resumes_without_loss(
    slow_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    world = await World(GraphQLClient(slow_server.graphql_url, http)).setup()
    closes = "tasklive_slow_consumer_closes_total"
    closes_before = await metric(http, slow_server, closes)
    reader_cursors: list[str] = []
    async with (
        # max_queue=1: the client stops reading the socket once one message is waiting.
        connect(slow_server.ws_url, token=world.tokens["viewer"], max_queue=1) as slow,
        connect(slow_server.ws_url, token=world.tokens["member"]) as reader,
    ):
        slow_op = await slow.subscribe(BIG_EVENTS, {"p": world.project_id})
        reader_op = await reader.subscribe(SMALL_EVENTS, {"p": world.project_id})
        await world.wait_for_project_viewers(2)
        reading = asyncio.create_task(read_cursors(reader, reader_op, reader_cursors))
        try:
            tasks = [
                (await world.create_task(f"t{i}", description=DESCRIPTION))["id"]
                for i in range(TASKS)
            ]
            rss_before = rss_kib(slow_server)
            rounds = 0

            async def bulk_update() -> None:
                nonlocal rounds
                chunk, passes = rounds % (TASKS // BURST), rounds // (TASKS // BURST)
                await world.client.data(
                    BULK,
                    {
                        "ids": tasks[chunk * BURST : (chunk + 1) * BURST],
                        "s": ["IN_PROGRESS", "PENDING"][passes % 2],
                    },
                    token=world.tokens["member"],
                )
                rounds += 1
                if reading.done():
                    reading.result()  # the reader stopped: say why

            while await metric(http, slow_server, closes) == closes_before:
                assert rounds < MAX_ROUNDS, "the slow client was never closed"
                await bulk_update()
            for _ in range(3):  # a little more that the closed client misses
                await bulk_update()
            rss_after = rss_kib(slow_server)
            total = TASKS + BURST * rounds
            async with asyncio.timeout(30):
                while len(reader_cursors) < total:
                    if reading.done():
                        reading.result()  # the reader stopped early: say why
                    await asyncio.sleep(0.02)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
        processed, others, code = await drain(slow, slow_op)
    log = await event_log(world)
    print(
        f"\n{TASKS} creates and {rounds} bulk updates ({total} events of ~10 kB); "
        f"the slow client had {len(processed)} when closed; server RSS {rss_before // 1024} -> "
        f"{rss_after // 1024} MiB; {time.monotonic() - started:.1f} s"
    )
    assert code == 1013, (code, others)
    assert len(log) == total
    # The reading subscriber had every event, in order, once.
    assert reader_cursors == log
    assert await metric(http, slow_server, closes) >= closes_before + 1
    assert rss_after - rss_before < RSS_MARGIN_KIB
    # What the slow client did get is the start of the log, in order.
    assert processed == log[: len(processed)]
    assert 0 < len(processed) < total
    assert all(m.get("type") in ("next", "error", "complete") for m in others), others

    # It reconnects and resumes after the last event it processed: nothing is missing.
    async with connect(slow_server.ws_url, token=world.tokens["viewer"]) as again:
        op = await again.subscribe(BIG_EVENTS, {"p": world.project_id, "a": processed[-1]})
        missed = log[len(processed) :]
        resumed = [(await again.next_data(op, timeout=20))["taskEvents"]["cursor"] for _ in missed]
        # Then it is live again: the next change is the next message, nothing in between.
        await world.client.data(
            BULK, {"ids": tasks[:1], "s": "COMPLETED"}, token=world.tokens["member"]
        )
        live = (await again.next_data(op, timeout=20))["taskEvents"]["cursor"]
    assert processed + resumed == log
    assert (await event_log(world)) == [*log, live]
    assert time.monotonic() - started < 40
