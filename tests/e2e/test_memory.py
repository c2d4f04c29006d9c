"""Long-lived subscriptions do not grow the server: 100 subscribers x 2,000 events each.

graphql-core 3.3.2 keeps about 2.8 KiB per delivered event in the subscription's executor
(`_relevant_sub_fields`, shared by every per-event executor); `graph.execution.per_event_executor`
gives each event its own memo. Unpatched, the events below would grow the server by
hundreds of MiB; patched, its resident memory stays within a few MiB of the warm-up figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient, World
from tests.support.servers import ServerProcess, sqlite_server
from tests.support.ws import GraphQLWS, connect

CONNECTIONS = 10
PER_CONNECTION = 10
SUBSCRIBERS = CONNECTIONS * PER_CONNECTION
EVENTS = 2_000
WARM_UP = 300
TASKS = 100  # one bulk update changes every task: TASKS events
IN_FLIGHT = 2 * TASKS  # events the slowest subscriber may lag behind the writer
MARGIN_MIB = 40
STATUSES = ["IN_PROGRESS", "PENDING"]
BULK = """
mutation($ids: [ID!]!, $s: TaskStatus!) { bulkUpdateTaskStatus(ids: $ids, status: $s) { id } }"""


def subscription(n: int) -> str:
    """A document of its own per subscriber (its operation name), so that every subscriber
    runs its own executor, as unrelated clients' queries do."""
    return f"""
subscription Watch{n}($p: ID!) {{
  taskEvents(projectId: $p) {{
    __typename cursor taskId
    ... on TaskUpdatedEvent {{ previousStatus changedFields task {{ id status version }} }}
  }}
}}"""


@pytest.fixture(scope="module", params=["fast-path", "strawberry-path"])
def memory_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("memory")
    with sqlite_server(
        tmp,
        MAX_SUBSCRIPTIONS_PER_CONNECTION=str(PER_CONNECTION * 2),
        FAST_PATH=str(request.param == "fast-path").lower(),
        # Readers here keep up by construction; only memory is under test.
        SUBSCRIBER_BUFFER_BYTES=str(16 * 1024 * 1024),
        LOG_LEVEL="WARNING",
    ) as proc:
        yield proc


def rss_mib(server: ServerProcess) -> float:
    status = Path(f"/proc/{server.pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) / 1024


def _path(server: ServerProcess) -> str:
    return "fast path" if server.env["FAST_PATH"] == "true" else "Strawberry path"


def cpu_seconds(server: ServerProcess) -> float:
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Subscriber:
    """What one subscription received: a count, and each task's last version (in order)."""

    __slots__ = ("count", "last_cursor", "versions")

    def __init__(self) -> None:
        self.count = 0
        self.last_cursor = ""
        self.versions: dict[str, int] = {}

    def take(self, event: dict[str, object]) -> None:
        task = event["task"]
        assert isinstance(task, dict)
        version = task["version"]
        assert isinstance(version, int)
        previous = self.versions.get(str(task["id"]), 1)
        assert version == previous + 1, (task, previous)  # in order, none lost, none twice
        self.versions[str(task["id"])] = version
        self.last_cursor = str(event["cursor"])
        self.count += 1


async def read_all(ws: GraphQLWS, subscribers: dict[str, Subscriber]) -> None:
    """Read one connection as fast as it can, routing each event to its subscriber."""
    async for raw in ws.ws:
        message = json.loads(raw)
        kind = message.get("type")
        if kind in ("ping", "pong"):
            continue
        assert kind == "next" and not message["payload"].get("errors"), message
        subscribers[message["id"]].take(message["payload"]["data"]["taskEvents"])


async def until_everyone_has(
    subscribers: list[Subscriber], count: int, readers: list[asyncio.Task[None]]
) -> None:
    async with asyncio.timeout(60):
        while min(s.count for s in subscribers) < count:
            for reader in readers:
                if reader.done():
                    reader.result()  # a reader that stopped says why
                    raise AssertionError("a connection closed")
            await asyncio.sleep(0.01)


async def test_memory_stays_flat_while_100_subscribers_receive_2000_events_each(
    memory_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    world = await World(GraphQLClient(memory_server.graphql_url, http)).setup()
    tasks = [(await world.create_task(f"t{i}"))["id"] for i in range(TASKS)]
    everyone: list[Subscriber] = []
    readers: list[asyncio.Task[None]] = []
    async with AsyncExitStack() as stack:
        for c in range(CONNECTIONS):
            ws = await stack.enter_async_context(
                connect(memory_server.ws_url, token=world.tokens["viewer"])
            )
            mine: dict[str, Subscriber] = {}
            for s in range(PER_CONNECTION):
                op = await ws.subscribe(
                    subscription(c * PER_CONNECTION + s), {"p": world.project_id}
                )
                mine[op] = Subscriber()
            everyone += mine.values()
            readers.append(asyncio.create_task(read_all(ws, mine)))
        await until_subscribed(memory_server, http)
        subscribed, cpu_start = time.monotonic(), cpu_seconds(memory_server)

        sent = 0
        rss: dict[str, float] = {"start": rss_mib(memory_server)}
        while sent < EVENTS:
            await until_everyone_has(everyone, sent - IN_FLIGHT + TASKS, readers)
            await world.client.data(
                BULK,
                {"ids": tasks, "s": STATUSES[(sent // TASKS) % 2]},
                token=world.tokens["member"],
            )
            sent += TASKS
            if sent == WARM_UP:
                await until_everyone_has(everyone, WARM_UP, readers)
                rss["warm"] = rss_mib(memory_server)
                warmed = time.monotonic()
        await until_everyone_has(everyone, EVENTS, readers)
        rss["end"] = rss_mib(memory_server)
        finished, cpu_end = time.monotonic(), cpu_seconds(memory_server)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    growth = rss["end"] - rss["warm"]
    deliveries = SUBSCRIBERS * (EVENTS - WARM_UP)
    print(
        f"\n{_path(memory_server)}: {SUBSCRIBERS} subscribers x {EVENTS} events; "
        f"server RSS {rss['start']:.1f} MiB at start, {rss['warm']:.1f} after {WARM_UP} "
        f"events each, {rss['end']:.1f} at the end: {growth:+.1f} MiB over {deliveries} "
        f"deliveries ({growth * 1024 * 1024 / deliveries:.1f} B each); "
        f"setup {subscribed - started:.1f} s, warm-up {warmed - subscribed:.1f} s, "
        f"rest {finished - warmed:.1f} s; server CPU {cpu_end - cpu_start:.1f} s "
        f"({(cpu_end - cpu_start) * 1e6 / (SUBSCRIBERS * EVENTS):.0f} us per delivery)"
    )
    assert [s.count for s in everyone] == [EVENTS] * SUBSCRIBERS
    assert all(s.versions == {t: 1 + EVENTS // TASKS for t in tasks} for s in everyone)
    assert len({s.last_cursor for s in everyone}) == 1
    assert growth < MARGIN_MIB, rss


async def until_subscribed(server: ServerProcess, http: httpx.AsyncClient) -> None:
    """Until every subscription is in the project's room (`/metrics` counts them)."""
    pattern = re.compile(r'^tasklive_subscriptions\{operation="taskEvents"\} (\d+)$', re.M)
    async with asyncio.timeout(30):
        while True:
            match = pattern.search((await http.get(f"{server.url}/metrics")).text)
            if match and int(match.group(1)) >= SUBSCRIBERS:
                return
            await asyncio.sleep(0.05)
