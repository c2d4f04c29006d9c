"""Resuming on an instance that is behind the client's cursor: no event comes twice.

A client that held events from one instance reconnects to another that has not heard of
the newest ones yet (Redis down, or just slower). Its cursor is the log's head, so the
replay finds nothing; the events the instance learns later, up to that cursor, are ones
the client already has and must not be sent again. Found by the chaos run (bench/chaos.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_postgres
from tests.support.client import GraphQLClient, World
from tests.support.polling import eventually
from tests.support.servers import ServerProcess, create_pg_database, drop_pg_database, make_server
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

EVENTS = (
    "subscription($p: ID!, $a: String) { taskEvents(projectId: $p, after: $a) "
    "{ cursor ... on TaskUpdatedEvent { task { version } } } }"
)
LOG = "query($p: ID!) { taskEvents(projectId: $p, first: 100) { cursor } }"
RENAME = "mutation($t: ID!, $n: String!) { updateTask(id: $t, input: {title: $n}) { version } }"


@pytest.fixture
def unlinked(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two instances on one database that hear of each other's events only from the log
    (each its own in-memory broker, and a periodic check too rare to matter here)."""
    require_postgres()
    name, url = create_pg_database()
    env = {"GAP_CHECK_INTERVAL_SECONDS": "600", "MUTATION_RATE_PER_SECOND": "0"}
    a, b = make_server(tmp_path, url, **env), make_server(tmp_path, url, **env)
    try:
        subprocess.run(
            [sys.executable, "-m", "graph.cli", "migrate"],
            env=a.env,
            check=True,
            timeout=60,
            capture_output=True,
        )
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()
        drop_pg_database(name)


@pytest.fixture
async def clients(
    unlinked: tuple[ServerProcess, ServerProcess],
) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    a, b = unlinked
    async with httpx.AsyncClient(timeout=20) as http:
        yield GraphQLClient(a.graphql_url, http), GraphQLClient(b.graphql_url, http)


async def _wait_for_viewer(on_a: GraphQLClient, world: World, user_id: str) -> None:
    async def joined() -> bool:
        data = await on_a.data(
            "query($p: ID!) { project(id: $p) { viewers { id } } }",
            {"p": world.project_id},
            token=world.tokens["owner"],
        )
        return user_id in {v["id"] for v in data["project"]["viewers"]}

    await eventually(joined, timeout=5, interval=0.025, what=f"{user_id} in the project's room")


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_resuming_at_the_head_on_an_instance_behind_it_repeats_nothing(
    unlinked: tuple[ServerProcess, ServerProcess],
    clients: tuple[GraphQLClient, GraphQLClient],
    protocol: str,
) -> None:
    a, _ = unlinked
    on_a, on_b = clients
    world = await World(on_a).setup()
    task = await world.create_task()
    rename = {"t": task["id"], "n": "on a"}
    async with connect(a.ws_url, token=world.tokens["viewer"], protocol=protocol) as keeper:
        # Instance A follows the project, and has delivered everything up to now.
        op = await keeper.subscribe(EVENTS, {"p": world.project_id})
        await _wait_for_viewer(on_a, world, world.ids["viewer"])
        await on_a.data(RENAME, rename, token=world.tokens["member"])
        assert (await keeper.next_data(op))["taskEvents"]["task"]["version"] == 2
        # A change on B: A does not know of it yet. A client that got it elsewhere resumes
        # on A from it, the log's head.
        await on_b.data(RENAME, {**rename, "n": "on b"}, token=world.tokens["member"])
        head = (await on_a.data(LOG, {"p": world.project_id}, token=world.tokens["owner"]))[
            "taskEvents"
        ][-1]["cursor"]
        async with connect(a.ws_url, token=world.tokens["member"], protocol=protocol) as ws:
            resumed = await ws.subscribe(EVENTS, {"p": world.project_id, "a": head})
            # The replay (one query, nothing after the head) is over long before the change
            # below commits; A then learns of B's change from the log while filling the gap.
            await _wait_for_viewer(on_a, world, world.ids["member"])
            await on_a.data(RENAME, {**rename, "n": "on a again"}, token=world.tokens["member"])
            first = (await ws.next_data(resumed))["taskEvents"]
            assert first["task"]["version"] == 4, "an event at or before the cursor came again"
        # The instance itself delivers both, in order, to a subscriber without a cursor.
        versions = [(await keeper.next_data(op))["taskEvents"]["task"]["version"] for _ in "ab"]
        assert versions == [3, 4]
