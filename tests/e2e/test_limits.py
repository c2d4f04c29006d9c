"""Query limits (depth, aliases, tokens, cost): on by default, configurable per deployment,
and refused before validation with QUERY_TOO_COMPLEX, quickly whatever the document."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, World, token, unique
from tests.support.documents import aliased_fragments, doubling_fragments
from tests.support.servers import ServerProcess, make_server, sqlite_server
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

DEPTH_3 = "{ projects { members { user { id } } } }"
DEPTH_4 = "{ projects { tasks { edges { node { id } } } } }"
# The same depth 4, hidden in a fragment.
DEPTH_4_FRAGMENT = (
    "query { projects { ...P } } fragment P on Project { tasks { edges { node { id } } } }"
)
_CHAIN_12 = (
    "projects { tasks(first: 1) { edges { node { project { tasks(first: 1) { edges { node "
    "{ project { tasks(first: 1) "
)
DEPTH_12 = "{ " + _CHAIN_12 + "{ edges { node { id } } } } } } } } } } } } }"
DEPTH_13 = "{ " + _CHAIN_12 + "{ edges { node { project { id } } } } } } } } } } } } } }"
# Each inner `Project.tasks` under a page of 100 tasks: 40,403 values at most.
NESTED = (
    "query($t: ID!) { task(id: $t) { project { tasks(first: %s) { edges { node { "
    "project { tasks(first: %s) { totalCount edges { node { id } } } } } } } } } }"
)
GRAPHQL_RESPONSE = "application/graphql-response+json"
# The old limiters held the event loop for 6 s (21 fragments) to minutes (30): every probe
# must stay far below that, and a typical one under 100 ms, even on a loaded 2-core CI box.
HEALTHZ_BUDGET = 0.5
HEALTHZ_TYPICAL = 0.1


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(count)) + " }"


UNDER_50_TOKENS = "{ me { id name email } }"
OVER_50_TOKENS = "{ me { " + "id " * 60 + "} }"  # no alias, depth 1: only the token count is over


def too_complex(body: dict[str, Any], limit: str) -> dict[str, Any]:
    """The one error of a refused document, which names `limit`."""
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    assert error["extensions"]["limit"] == limit, body
    return error


async def refused(
    gql: GraphQLClient, query: str, *, limit: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = await gql.post(query, variables, token=token(unique("limits")))
    return too_complex(body, limit)


async def allowed(gql: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> None:
    await gql.data(query, variables, token=token(unique("limits")))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own with tight limits, on SQLite."""
    with sqlite_server(
        tmp_path_factory.mktemp("limited"),
        MAX_QUERY_DEPTH="3",
        MAX_ALIASES="2",
        MAX_TOKENS="50",
        MAX_QUERY_COST="1000",
    ) as proc:
        yield proc


@pytest.fixture
def tight(limited: ServerProcess, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(limited.graphql_url, http)


async def test_configured_depth_limit(tight: GraphQLClient) -> None:
    await allowed(tight, DEPTH_3)
    error = await refused(tight, DEPTH_4, limit="depth")
    assert error["extensions"]["maximum"] == 3 and error["extensions"]["actual"] == 4
    await refused(tight, DEPTH_4_FRAGMENT, limit="depth")


async def test_configured_alias_limit(tight: GraphQLClient) -> None:
    await allowed(tight, aliases(2))
    error = await refused(tight, aliases(3), limit="aliases")
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "aliases",
        "maximum": 2,
        "actual": 3,
    }
    in_fragment = "query { a: me { ...U } b: me { id } } fragment U on User { c: id }"
    await refused(tight, in_fragment, limit="aliases")


async def test_configured_token_limit(tight: GraphQLClient) -> None:
    await allowed(tight, UNDER_50_TOKENS)
    error = await refused(tight, OVER_50_TOKENS, limit="tokens")
    assert error["extensions"]["maximum"] == 50
    assert "more than 50 tokens" in error["message"]


async def test_configured_cost_limit(tight: GraphQLClient) -> None:
    # 10 projects (an unpaginated list), each with its id and a page of tasks whose count
    # is multiplied by the page size (20 by default).
    await allowed(tight, "{ projects { id tasks { totalCount } } }")
    error = await refused(
        tight, "{ projects { id tasks(first: 100) { totalCount } } }", limit="cost"
    )
    assert error["extensions"]["maximum"] == 1000
    assert error["extensions"]["actual"] == 10 * (1 + 1 + (1 + 100 * 1))


async def test_limits_refuse_the_same_document_every_time(tight: GraphQLClient) -> None:
    """The parse and validation caches must not let a refused document through on a retry."""
    for _ in range(3):
        await refused(tight, aliases(3), limit="aliases")
        await refused(tight, OVER_50_TOKENS, limit="tokens")
        await allowed(tight, DEPTH_3)


async def test_default_limits(gql: GraphQLClient) -> None:
    # What the tight server refuses, the default one (depth 12, 30 aliases, 2000 tokens,
    # cost 20000) allows.
    for query in (DEPTH_4, DEPTH_4_FRAGMENT, DEPTH_12, aliases(3), aliases(30), OVER_50_TOKENS):
        await allowed(gql, query)
    error = await refused(gql, DEPTH_13, limit="depth")
    assert error["extensions"]["maximum"] == 12 and error["extensions"]["actual"] == 13
    # 31 aliases are few tokens: the alias limit refuses them.
    await refused(gql, aliases(31), limit="aliases")
    # 1000 aliases are also ~6000 tokens: refused before they are even parsed in full.
    await refused(gql, aliases(1000), limit="tokens")
    error = await refused(gql, "{ me { " + "id " * 2000 + "} }", limit="tokens")
    assert error["extensions"]["maximum"] == 2000


async def test_the_cost_of_nested_pages(world: World, gql: GraphQLClient) -> None:
    task = await world.create_task("nested")
    variables = {"t": task["id"]}
    owner = world.tokens["owner"]
    body = await gql.post(NESTED % (100, 100), variables, token=owner)
    assert too_complex(body, "cost")["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "cost",
        "maximum": 20_000,
        "actual": 40_403,
    }
    data = await gql.data(NESTED % (100, 10), variables, token=owner)
    assert data["task"]["project"]["tasks"]["edges"][0]["node"]["project"]["tasks"]["totalCount"]
    # Pages given by variables count as the request gives them.
    by_variables = NESTED % ("$outer", "$inner")
    by_variables = by_variables.replace("$t: ID!", "$t: ID!, $outer: Int, $inner: Int = 100")
    body = await gql.post(by_variables, {**variables, "outer": 100}, token=owner)
    assert too_complex(body, "cost")["extensions"]["actual"] == 40_403
    await gql.data(by_variables, {**variables, "outer": 100, "inner": 10}, token=owner)
    # 15 aliases of a page of 100, each with a page of 100 inside: few aliases, dear.
    inner = "tasks(first: 100) { edges { node { id title } } }"
    outer = f"tasks(first: 100) {{ edges {{ node {{ project {{ {inner} }} }} }} }}"
    wide = " ".join(f"a{i}: {outer}" for i in range(15))
    query = "query($t: ID!) { task(id: $t) { project { " + wide + " } } }"
    error = too_complex(await gql.post(query, variables, token=owner), "cost")
    assert error["extensions"]["actual"] > 500_000
    # 15 aliases at each of two levels (through a fragment): 15 + 15 * 15 in the answer.
    level = " ".join(f"b{i}: {inner}" for i in range(15))
    fragment = f"fragment Level on Project {{ {level} }}"
    outer = "tasks(first: 100) { edges { node { project { ...Level } } } }"
    wide = " ".join(f"a{i}: {outer}" for i in range(15))
    query = "query($t: ID!) { task(id: $t) { project { " + wide + " } } } " + fragment
    error = too_complex(await gql.post(query, variables, token=owner), "aliases")
    assert error["extensions"]["actual"] == 15 + 15 * 15


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_subscriptions_count_pages_from_their_variables(
    world: World, server: ServerProcess, protocol: str
) -> None:
    """A plan of the fast path serves any variables: a page from a variable counts as the
    largest until the request's own variables are checked."""
    nested = (
        "subscription($p: ID!, $n: Int) { taskCreated(projectId: $p) { task { project { "
        "tasks(first: $n) { edges { node { project { tasks(first: $n) { edges { node { id } } } "
        "} } } } "
        "} } } }"
    )
    async with connect(server.ws_url, token=world.tokens["owner"], protocol=protocol) as ws:
        refused_op = await ws.subscribe(nested, {"p": world.project_id, "n": 100})
        message = await ws.recv()
        assert message["type"] == "error" and message["id"] == refused_op, message
        errors = (
            message["payload"] if isinstance(message["payload"], list) else [message["payload"]]
        )
        assert too_complex({"errors": errors}, "cost")["extensions"]["actual"] > 20_000
        op = await ws.subscribe(nested, {"p": world.project_id, "n": 5})
        await world.wait_for_project_viewers(1)
        await world.create_task("counted")
        data = await ws.next_data(op)
        assert data["taskCreated"]["task"]["project"]["tasks"]["edges"]


async def test_a_refusal_is_a_400_for_graphql_response_json(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    """A document over a limit never ran: a request error, as a validation failure is."""
    for query, limit in ((doubling_fragments(21), "cost"), (OVER_50_TOKENS * 40, "tokens")):
        for accept, status in ((GRAPHQL_RESPONSE, 400), ("application/json", 200)):
            response = await http.post(
                server.graphql_url, json={"query": query}, headers={"accept": accept}
            )
            assert response.status_code == status, response.text
            too_complex(response.json(), limit)


async def probe_healthz_while(server: ServerProcess, work: Awaitable[Any]) -> list[float]:
    """How long each `/healthz` took, asked one after another until `work` is done."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30) as probe:
        await probe.get(f"{server.url}/healthz")  # connected, and the server warm
        task = asyncio.ensure_future(work)
        while True:
            started = time.perf_counter()
            response = await probe.get(f"{server.url}/healthz")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            if task.done():
                break
    await task
    return latencies


def assert_responsive(latencies: list[float]) -> None:
    assert max(latencies) < HEALTHZ_BUDGET, latencies
    assert statistics.median(latencies) < HEALTHZ_TYPICAL, latencies


@pytest.mark.parametrize("levels", [21, 30])
async def test_a_fragment_bomb_over_http_is_refused_at_once(
    server: ServerProcess, levels: int
) -> None:
    """Without a token, 864 characters: the server stays responsive meanwhile."""
    bomb = doubling_fragments(levels)

    async def bombs() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(3):
                replies = await asyncio.gather(
                    *(client.post(server.graphql_url, json={"query": bomb}) for _ in range(3))
                )
                for reply in replies:
                    assert reply.status_code == 200, reply.text
                    too_complex(reply.json(), "cost")

    latencies = await asyncio.wait_for(probe_healthz_while(server, bombs()), 60)
    assert_responsive(latencies)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize("levels", [21, 30])
async def test_a_fragment_bomb_over_websockets_is_refused_at_once(
    world: World, server: ServerProcess, protocol: str, levels: int
) -> None:
    """On `subscribe` (the fast path's planner) and legacy `start`: an `error` for the
    operation, the socket stays open, and `/healthz` answers meanwhile."""
    leaf = f'taskEvents(projectId: "{world.project_id}") {{ cursor }}'
    bomb = doubling_fragments(levels, on="Subscription", leaf=leaf)

    async def bombs() -> None:
        async with connect(server.ws_url, token=world.tokens["owner"], protocol=protocol) as ws:
            for _ in range(3):
                op = await ws.subscribe(bomb)
                message = await ws.recv()
                assert message["type"] == "error" and message["id"] == op, message
                errors = message["payload"]
                errors = errors if isinstance(errors, list) else [errors]
                too_complex({"data": None, "errors": errors}, "cost")
            # Still open and serving.
            task = await world.create_task("after the bomb")
            await ws.subscribe(
                "subscription($t: ID!) { taskUpdated(taskId: $t) { cursor } }", {"t": task["id"]}
            )
            await world.wait_for_viewers(task["id"])

    latencies = await asyncio.wait_for(probe_healthz_while(server, bombs()), 60)
    assert_responsive(latencies)


@pytest.mark.parametrize(
    "accept",
    ["text/event-stream", 'multipart/mixed;subscriptionSpec="1.0"'],
    ids=["sse", "multipart"],
)
async def test_a_fragment_bomb_over_http_streams_is_refused_at_once(
    world: World, server: ServerProcess, accept: str
) -> None:
    leaf = f'taskEvents(projectId: "{world.project_id}") {{ cursor }}'
    bomb = doubling_fragments(30, on="Subscription", leaf=leaf)

    async def bombs() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(3):
                reply = await client.post(
                    server.graphql_url,
                    json={"query": bomb},
                    headers={"accept": accept, "authorization": f"Bearer {world.tokens['owner']}"},
                )
                assert '"QUERY_TOO_COMPLEX"' in reply.text and '"limit":"cost"' in reply.text, (
                    reply.text
                )

    latencies = await asyncio.wait_for(probe_healthz_while(server, bombs()), 60)
    assert_responsive(latencies)


async def test_fragment_heavy_documents_within_the_limits_still_run(
    gql: GraphQLClient,
) -> None:
    await allowed(gql, doubling_fragments(8))
    await allowed(gql, aliased_fragments(14))  # 2 * 14 + `other`
    await refused(gql, aliased_fragments(15), limit="aliases")


# One nested query and the database pool.


@pytest.fixture(scope="module")
def roomy(
    server: ServerProcess, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server on the same (migrated) database that allows nested pages of 100, and logs
    its SQL statements with the id of the request that made them."""
    tmp: Path = tmp_path_factory.mktemp("roomy")
    proc = make_server(tmp, database_url, MAX_QUERY_COST="1000000", LOG_SQL="true")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


SQL = re.compile(
    r"sqlalchemy\.engine\.Engine \[(?P<request>[^\]]+)\] (?P<sql>BEGIN|SELECT|INSERT|UPDATE)"
)


def sql_of(server: ServerProcess, request_id: str) -> tuple[int, int]:
    """The sessions (transactions begun) and statements a request's log lines show."""
    lines = [m["sql"] for m in SQL.finditer(server.log()) if m["request"] == request_id]
    return lines.count("BEGIN"), len(lines) - lines.count("BEGIN")


async def test_a_nested_query_batches_and_leaves_the_pool_to_others(
    roomy: ServerProcess, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(roomy.graphql_url, http)
    world = await World(gql).setup()
    others = [await World(gql).setup() for _ in range(3)]  # more projects
    tasks = [await world.create_task(f"task {i}") for i in range(60)]
    variables = {"t": tasks[0]["id"]}
    owner = {"authorization": f"Bearer {world.tokens['owner']}"}

    # One page of 60 tasks, then the 60 inner pages of one project in one batch: not a
    # session and two statements per inner page.
    response = await http.post(
        roomy.graphql_url,
        json={"query": NESTED % (100, 100), "variables": variables},
        headers=owner,
    )
    body = response.json()
    assert not body.get("errors"), body
    outer = body["data"]["task"]["project"]["tasks"]["edges"]
    assert len(outer) == 60
    assert all(e["node"]["project"]["tasks"]["totalCount"] == 60 for e in outer)
    sessions, statements = sql_of(roomy, response.headers["x-request-id"])
    print(f"one nested query: {sessions} sessions, {statements} statements")
    assert 0 < sessions <= 6 and statements <= 10, (sessions, statements)
    # The pages of every project (an admin sees them all, without a role to look up):
    # one batch too, however many projects the database holds.
    admin = {"authorization": f"Bearer {token(unique('admin'), admin=True)}"}
    query = "{ projects { tasks(first: 1) { totalCount edges { node { id } } } } }"
    response = await http.post(roomy.graphql_url, json={"query": query}, headers=admin)
    projects = response.json()["data"]["projects"]
    assert len(projects) > 2 and max(p["tasks"]["totalCount"] for p in projects) >= 60
    sessions, statements = sql_of(roomy, response.headers["x-request-id"])
    print(f"pages of {len(projects)} projects: {sessions} sessions, {statements} statements")
    assert 0 < sessions <= 4 and statements <= 6, (sessions, statements)

    # A few at once, while another user reads: each of their reads answers promptly.
    other = others[0]

    async def nested() -> None:
        await gql.data(NESTED % (100, 100), variables, token=world.tokens["owner"])

    started = time.perf_counter()
    running = [asyncio.ensure_future(nested()) for _ in range(3)]
    latencies = []
    while not all(n.done() for n in running):
        asked = time.perf_counter()
        await gql.data("{ projects { id name } }", token=other.tokens["owner"])
        latencies.append(time.perf_counter() - asked)
    await asyncio.wait_for(asyncio.gather(*running), 60)
    print(
        f"3 nested queries in {time.perf_counter() - started:.2f} s; another user's "
        f"{len(latencies)} reads meanwhile, slowest {max(latencies) * 1000:.0f} ms"
    )
    assert max(latencies) < 1.0, latencies
