"""Revocation through the log: a removal ends subscriptions and refuses writes everywhere,
whatever the broker did, and no subscription racing a removal survives it."""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from db.repositories import projects as project_repo
from db.session import Database
from graph.resolvers.inputs import decode_event_cursor
from tests.support.client import GraphQLClient, World, token, unique
from tests.support.cluster import GAP_CHECK_SECONDS, Cluster, running_cluster
from tests.support.polling import eventually
from tests.support.servers import (
    ServerProcess,
    make_server,
)
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, GraphQLWS, connect

T = TypeVar("T")
EVENTS = (
    "subscription($p: ID!, $a: String) { taskEvents(projectId: $p, after: $a) "
    "{ __typename cursor ... on TaskUpdatedEvent { task { id version } } } }"
)
ADD = (
    "mutation($p: ID!, $u: ID!, $r: ProjectRole) "
    "{ addProjectMember(projectId: $p, userId: $u, role: $r) { role } }"
)
REMOVE = "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }"
UPDATE = "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) { version } }"
PROJECT = "query($p: ID!) { project(id: $p) { id } }"
ADMIN = token("revocation-admin", admin=True)
STATUSES = ("IN_PROGRESS", "COMPLETED")


async def outcome(ws: GraphQLWS, op: str, timeout: float = 10.0) -> str:
    """`data` for the next event of `op`, else the code of the error that ended it."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.recv(timeout)
            if message.get("id") != op:
                continue
            kind = message["type"]
            payload = message.get("payload")
            if kind in ("next", "data") and isinstance(payload, dict):
                errors = payload.get("errors")
                return str(errors[0]["extensions"]["code"]) if errors else "data"
            if kind == "error":
                first = payload[0] if isinstance(payload, list) else payload or {}
                return str(first.get("extensions", {}).get("code", "ERROR"))
            if kind == "complete":
                return "complete"


def code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return str(errors[0]["extensions"]["code"]) if errors else None


# -- a removal made on an instance cut off from Redis


@pytest.fixture
def cut_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, proxied=True) as cluster:
        yield cluster


async def _ready(http: httpx.AsyncClient, server: ServerProcess, *, broker: str) -> bool:
    body = (await http.get(f"{server.url}/readyz")).json()
    return bool(body["broker"] == broker)


async def _subscriptions(client: GraphQLClient, count: int) -> bool:
    data = await client.data("{ realtimeStats { subscriptions } }", token=ADMIN)
    return bool(data["realtimeStats"]["subscriptions"] == count)


async def _viewers(client: GraphQLClient, world: World) -> list[str]:
    """Who is in the project's room (presence counts a subscription once it is allowed in)."""
    data = await client.data(
        "query($p: ID!) { project(id: $p) { viewers { id } } }",
        {"p": world.project_id},
        token=world.tokens["owner"],
    )
    return [viewer["id"] for viewer in data["project"]["viewers"]]


async def test_a_removal_made_cut_off_from_redis_ends_subscriptions_and_writes_elsewhere(
    cut_cluster: Cluster,
) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        on_a = GraphQLClient(cut_cluster.a.graphql_url, http)
        on_b = GraphQLClient(cut_cluster.b.graphql_url, http)
        for server in (cut_cluster.a, cut_cluster.b):
            await eventually(functools.partial(_ready, http, server, broker="ok"))
        world = await World(on_b).setup()
        other = await World(on_b).setup()  # a project no subscription on b follows
        owner, bob = world.tokens["owner"], world.tokens["member"]
        task = await world.create_task()
        async with (
            connect(cut_cluster.b.ws_url, token=bob, protocol=TRANSPORT_WS) as fast,
            connect(cut_cluster.b.ws_url, token=bob, protocol=LEGACY_WS) as legacy,
        ):
            fast_op = await fast.subscribe(EVENTS, {"p": world.project_id})
            legacy_op = await legacy.subscribe(EVENTS, {"p": world.project_id})
            await eventually(lambda: _subscriptions(on_b, 2))
            # Both are live (and b has bob's roles cached): his own change reaches both.
            await on_b.data(UPDATE, {"t": task["id"], "s": "IN_PROGRESS"}, token=bob)
            assert await outcome(fast, fast_op) == "data"
            assert await outcome(legacy, legacy_op) == "data"
            await on_b.data(PROJECT, {"p": other.project_id}, token=other.tokens["member"])

            assert cut_cluster.proxy is not None
            cut_cluster.proxy.cut()
            await eventually(lambda: _ready(http, cut_cluster.a, broker="unreachable"))
            removed_at = time.monotonic()
            await on_a.data(REMOVE, {"p": world.project_id, "u": world.ids["member"]}, token=owner)
            await on_a.data(
                REMOVE,
                {"p": other.project_id, "u": other.ids["member"]},
                token=other.tokens["owner"],
            )
            ended = await asyncio.gather(outcome(fast, fast_op), outcome(legacy, legacy_op))
            ended_after = time.monotonic() - removed_at
        assert list(ended) == ["FORBIDDEN", "FORBIDDEN"]
        assert ended_after < GAP_CHECK_SECONDS + 2.0, ended_after
        refused = await on_b.post(UPDATE, {"t": task["id"], "s": "COMPLETED"}, token=bob)
        assert code(refused) in ("NOT_FOUND", "FORBIDDEN"), refused

        # The cached role of a project nobody on b follows is dropped within the interval too.
        async def refused_elsewhere() -> bool:
            body = await on_b.post(PROJECT, {"p": other.project_id}, token=other.tokens["member"])
            return code(body) == "NOT_FOUND"

        await eventually(refused_elsewhere, timeout=GAP_CHECK_SECONDS + 2.0 + ended_after)
        stale_for = time.monotonic() - removed_at
        assert stale_for < GAP_CHECK_SECONDS + 2.0, stale_for


# -- the subscribe/remove race, on one instance

RACE_ROUNDS = 150


@pytest.fixture(scope="module")
def race_server(
    server: ServerProcess, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server of its own on the session's database, whose owners may change members
    faster than the default mutation rate."""
    proc = make_server(
        tmp_path_factory.mktemp("race"), database_url, MUTATION_RATE_PER_SECOND="1000"
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


async def _later(wait: float, step: Awaitable[T]) -> T:
    await asyncio.sleep(wait)
    return await step


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_no_subscription_racing_a_removal_survives_it(
    race_server: ServerProcess, http: httpx.AsyncClient, protocol: str
) -> None:
    gql = GraphQLClient(race_server.graphql_url, http)
    world = await World(gql).setup()
    server = race_server
    owner, bob, bob_id = world.tokens["owner"], world.tokens["member"], world.ids["member"]
    bob_as_member = {"p": world.project_id, "u": bob_id, "r": "MEMBER"}
    bob_in_project = {"p": world.project_id, "u": bob_id}
    variables = {"p": world.project_id}
    task = await world.create_task()
    leaks: list[int] = []
    outcomes: dict[str, int] = {}
    rng = random.Random(10)
    async with connect(server.ws_url, token=bob, protocol=protocol) as ws:
        for round_ in range(RACE_ROUNDS):
            if round_:
                await gql.data(ADD, bob_as_member, token=owner)
            # Either side may go first, by up to a few milliseconds.
            lead = rng.uniform(-0.008, 0.004)
            op, _ = await asyncio.gather(
                _later(max(0.0, -lead), ws.subscribe(EVENTS, variables, op_id=f"r{round_}")),
                _later(max(0.0, lead), gql.data(REMOVE, bob_in_project, token=owner)),
            )
            status = STATUSES[round_ % 2]
            await gql.data(UPDATE, {"t": task["id"], "s": status}, token=owner)
            result = await outcome(ws, op)
            outcomes[result] = outcomes.get(result, 0) + 1
            if result == "data":
                leaks.append(round_)
                await ws.complete(op)
    assert not leaks, (len(leaks), RACE_ROUNDS, outcomes)
    assert set(outcomes) <= {"FORBIDDEN", "NOT_FOUND"}, outcomes


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_role_change_keeps_subscriptions(
    server: ServerProcess, gql: GraphQLClient, world: World, protocol: str
) -> None:
    owner, bob = world.tokens["owner"], world.tokens["member"]
    task = await world.create_task()
    async with connect(server.ws_url, token=bob, protocol=protocol) as ws:
        op = await ws.subscribe(EVENTS, {"p": world.project_id})
        await eventually(lambda: _viewers(gql, world))
        await gql.data(
            ADD, {"p": world.project_id, "u": world.ids["member"], "r": "VIEWER"}, token=owner
        )
        await gql.data(UPDATE, {"t": task["id"], "s": "IN_PROGRESS"}, token=owner)
        assert await outcome(ws, op) == "data"  # a VIEWER still reads
        refused = await gql.post(UPDATE, {"t": task["id"], "s": "COMPLETED"}, token=bob)
        assert code(refused) == "FORBIDDEN", refused


# -- writes in flight


async def test_a_write_whose_author_was_removed_meanwhile_is_refused(
    database_url: str, gql: GraphQLClient, world: World
) -> None:
    bob = world.tokens["member"]
    task = await world.create_task()
    # Bob's role is cached by the server; the removal lands in the database behind its
    # back (as when it commits while bob's request is past its cached check).
    await gql.data(UPDATE, {"t": task["id"], "s": "IN_PROGRESS"}, token=bob)
    db = Database.from_url(database_url)
    try:
        async with db.write() as session:
            await project_repo.delete_member(
                session, project_id=world.project_id, user_id=world.ids["member"]
            )
    finally:
        await db.dispose()
    refused = await gql.post(UPDATE, {"t": task["id"], "s": "COMPLETED"}, token=bob)
    assert code(refused) == "NOT_FOUND", refused
    created = await gql.post(
        'mutation($p: ID!) { createTask(input: {projectId: $p, title: "x"}) { id } }',
        {"p": world.project_id},
        token=bob,
    )
    assert code(created) == "NOT_FOUND", created
    state = await gql.data(
        "query($t: ID!) { task(id: $t) { status version } }",
        {"t": task["id"]},
        token=world.tokens["owner"],
    )
    assert state["task"] == {"status": "IN_PROGRESS", "version": 2}  # rolled back


async def _lock_waiters(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


async def test_a_write_queued_behind_its_authors_removal_is_refused(
    database_url: str, gql: GraphQLClient, world: World
) -> None:
    """On PostgreSQL: the removal and bob's write both wait for the project's lock, the
    removal first; bob's write passed its (cached) check before the removal committed."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time: no write waits beside another")
    owner, bob = world.tokens["owner"], world.tokens["member"]
    task = await world.create_task()
    await gql.data(UPDATE, {"t": task["id"], "s": "IN_PROGRESS"}, token=bob)  # role cached
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    # pg_stat_activity is read once per transaction: the watcher reads it outside the holder's.
    conn, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        holder = conn.transaction()
        await holder.start()
        await conn.execute("SELECT id FROM projects WHERE id = $1 FOR UPDATE", world.project_id)
        removal = asyncio.create_task(
            gql.data(REMOVE, {"p": world.project_id, "u": world.ids["member"]}, token=owner)
        )
        await eventually(lambda: _at_least(watcher, 1))
        write = asyncio.create_task(
            gql.post(UPDATE, {"t": task["id"], "s": "COMPLETED"}, token=bob)
        )
        await eventually(lambda: _at_least(watcher, 2))
        await holder.rollback()
        assert (await removal)["removeProjectMember"] is True
        refused = await write
    finally:
        await conn.close()
        await watcher.close()
    assert code(refused) == "NOT_FOUND", refused
    state = await gql.data(
        "query($t: ID!) { task(id: $t) { status version } }", {"t": task["id"]}, token=owner
    )
    assert state["task"] == {"status": "IN_PROGRESS", "version": 2}


async def _at_least(conn: asyncpg.Connection, waiters: int) -> bool:
    return await _lock_waiters(conn) >= waiters


# -- task consumers never see membership changes


async def test_task_events_skip_membership_changes_without_a_gap(
    server: ServerProcess, gql: GraphQLClient, world: World
) -> None:
    owner, viewer = world.tokens["owner"], world.tokens["viewer"]
    p = world.project_id
    carol = unique("carol")
    await gql.data("{ me { id } }", token=token(carol))
    task = await world.create_task()
    await gql.data(ADD, {"p": p, "u": carol, "r": "VIEWER"}, token=owner)
    await gql.data(UPDATE, {"t": task["id"], "s": "IN_PROGRESS"}, token=owner)
    await gql.data(ADD, {"p": p, "u": carol, "r": "MEMBER"}, token=owner)
    await gql.data(REMOVE, {"p": p, "u": carol}, token=owner)
    await gql.data(UPDATE, {"t": task["id"], "s": "COMPLETED"}, token=owner)

    listed = await gql.data(
        "query($p: ID!) { taskEvents(projectId: $p, first: 50) { __typename cursor } }",
        {"p": p},
        token=viewer,
    )
    events = listed["taskEvents"]
    assert [e["__typename"] for e in events] == [
        "TaskCreatedEvent",
        "TaskUpdatedEvent",
        "TaskUpdatedEvent",
    ]
    seqs = [decode_event_cursor(e["cursor"], project_id=p) for e in events]
    # world.setup added two members (seqs 1, 2): membership changes take numbers in the log.
    assert seqs == [3, 5, 8], seqs

    for protocol in (TRANSPORT_WS, LEGACY_WS):
        listed = await gql.data(
            "query($p: ID!) { taskEvents(projectId: $p, first: 50) { cursor } }",
            {"p": p},
            token=viewer,
        )
        cursors = [e["cursor"] for e in listed["taskEvents"]]
        async with connect(server.ws_url, token=viewer, protocol=protocol) as ws:
            op = await ws.subscribe(EVENTS, {"p": p, "a": cursors[-3]})
            replayed = [(await ws.next_data(op))["taskEvents"]["cursor"] for _ in range(2)]
            assert replayed == cursors[-2:]
            await gql.data(ADD, {"p": p, "u": carol, "r": "VIEWER"}, token=owner)
            status = "PENDING" if protocol == TRANSPORT_WS else "IN_PROGRESS"
            await gql.data(UPDATE, {"t": task["id"], "s": status}, token=owner)
            live = (await ws.next_data(op))["taskEvents"]
            assert live["__typename"] == "TaskUpdatedEvent"
            live_seq = decode_event_cursor(live["cursor"], project_id=p)
            await gql.data(REMOVE, {"p": p, "u": carol}, token=owner)
        # Resuming from the live event's cursor, across the membership change, gives the
        # next task event and nothing else.
        async with connect(server.ws_url, token=viewer, protocol=protocol) as ws:
            op = await ws.subscribe(EVENTS, {"p": p, "a": live["cursor"]})
            await gql.data(UPDATE, {"t": task["id"], "s": "CANCELLED"}, token=owner)
            after = (await ws.next_data(op))["taskEvents"]
            assert after["__typename"] == "TaskUpdatedEvent"
            assert decode_event_cursor(after["cursor"], project_id=p) == live_seq + 2
            await gql.data(UPDATE, {"t": task["id"], "s": "PENDING"}, token=owner)
            following = (await ws.next_data(op))["taskEvents"]
            assert decode_event_cursor(following["cursor"], project_id=p) == live_seq + 3
