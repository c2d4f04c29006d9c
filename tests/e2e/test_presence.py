"""Presence on one server: who is in a task's or a project's room, live, and `realtimeStats`."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_postgres
from tests.support.client import GraphQLClient, World, token
from tests.support.redis import RedisServer
from tests.support.servers import ServerProcess, pg_servers
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, GraphQLWS, connect

TASK_UPDATED = "subscription($t: ID!) { taskUpdated(taskId: $t) { cursor } }"
PROJECT_SUBSCRIPTIONS = {
    "taskEvents": "subscription($p: ID!) { taskEvents(projectId: $p) { cursor } }",
    "taskCreated": "subscription($p: ID!) { taskCreated(projectId: $p) { cursor } }",
    "taskDeleted": "subscription($p: ID!) { taskDeleted(projectId: $p) { cursor } }",
}
TASK_EVENTS = PROJECT_SUBSCRIPTIONS["taskEvents"]
VIEWERS_CHANGED = """
subscription($t: ID, $p: ID) {
  viewersChanged(taskId: $t, projectId: $p) { room viewers { id } }
}"""
TASK_ROOM = """
query($t: ID!) { usersInTask(taskId: $t) { id name } task(id: $t) { viewers { id name } } }"""
PROJECT_ROOM = "query($p: ID!) { project(id: $p) { viewers { id name } } }"
STATS = """{
  realtimeStats {
    connectedUsers connections subscriptions totalRooms
    rooms { room subscribers users { id } }
    userRooms { user { id } rooms }
    instances { id connections subscriptions startedAt }
  }
}"""
ADMIN = token("presence-admin", name="Admin", admin=True)
WAIT = 10.0


async def until(read: Callable[[], Awaitable[Any]], expected: Any, *, timeout: float = WAIT) -> Any:
    """Poll `read` until it returns `expected` (rooms are joined and left asynchronously)."""
    value: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = await read()
                if value == expected:
                    return value
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"still {value!r}, expected {expected!r}") from None


def task_viewers(world: World, task_id: str) -> Callable[[], Awaitable[object]]:
    """`usersInTask` and `Task.viewers` as sorted user ids, when the two agree.

    The two fields are read one after the other, so a join between them makes them differ
    for one read; `until` then reads again.
    """

    async def read() -> list[str] | dict[str, Any]:
        data = await world.client.data(TASK_ROOM, {"t": task_id}, token=world.tokens["owner"])
        if data["usersInTask"] != data["task"]["viewers"]:
            return data
        return [u["id"] for u in data["usersInTask"]]

    return read


def project_viewers(world: World) -> Callable[[], Awaitable[list[str]]]:
    async def read() -> list[str]:
        data = await world.client.data(
            PROJECT_ROOM, {"p": world.project_id}, token=world.tokens["owner"]
        )
        return [u["id"] for u in data["project"]["viewers"]]

    return read


def ids(world: World, *roles: str) -> list[str]:
    return sorted(world.ids[role] for role in roles)


async def first_error(ws: GraphQLWS, op: str) -> dict[str, Any]:
    """The error a subscription ends with (an `error` message, or a `next` with errors)."""
    message = await ws.recv()
    assert message["id"] == op, message
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors, message
    if message["type"] == "next":
        assert message["payload"].get("data") is None, message
    error: dict[str, Any] = errors[0]
    return error


async def viewers_event(ws: GraphQLWS, op: str) -> tuple[str, list[str]]:
    event = (await ws.next_data(op))["viewersChanged"]
    return event["room"], [u["id"] for u in event["viewers"]]


# Live subscriptions over graphql-transport-ws take the fast path (subscription groups);
# over the legacy protocol, Strawberry's own execution: presence must be the same.
PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])


@PROTOCOLS
async def test_task_viewers_are_exactly_the_users_subscribed_to_the_task(
    server: ServerProcess, world: World, protocol: str
) -> None:
    task = await world.create_task("watched")
    other = await world.create_task("elsewhere")
    in_task, in_other = task_viewers(world, task["id"]), task_viewers(world, other["id"])
    assert await in_task() == []
    async with (
        connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as viewer,
        connect(server.ws_url, token=world.tokens["member"], protocol=protocol) as member,
    ):
        viewer_op = await viewer.subscribe(TASK_UPDATED, {"t": task["id"]})
        await until(in_task, ids(world, "viewer"))
        await member.subscribe(TASK_UPDATED, {"t": task["id"]})
        await member.subscribe(TASK_UPDATED, {"t": other["id"]})
        await until(in_task, ids(world, "member", "viewer"))
        await until(in_other, ids(world, "member"))
        data = await world.client.data(TASK_ROOM, {"t": task["id"]}, token=world.tokens["viewer"])
        assert {u["id"]: u["name"] for u in data["usersInTask"]} == {
            world.ids["member"]: "Member",
            world.ids["viewer"]: "Viewer",
        }
        # A task room is not the project room.
        assert await project_viewers(world)() == []

        await viewer.complete(viewer_op)  # unsubscribing leaves the room
        await until(in_task, ids(world, "member"))
        assert await in_other() == ids(world, "member")
    # Disconnecting leaves every room the connection was in.
    await until(in_task, [])
    await until(in_other, [])


@PROTOCOLS
@pytest.mark.parametrize("operation", sorted(PROJECT_SUBSCRIPTIONS))
async def test_project_viewers_are_exactly_the_users_subscribed_to_the_project(
    server: ServerProcess, world: World, operation: str, protocol: str
) -> None:
    query = PROJECT_SUBSCRIPTIONS[operation]
    task = await world.create_task()
    in_project = project_viewers(world)
    assert await in_project() == []
    async with (
        connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as viewer,
        connect(server.ws_url, token=world.tokens["member"], protocol=protocol) as member,
    ):
        first = await viewer.subscribe(query, {"p": world.project_id})
        second = await viewer.subscribe(query, {"p": world.project_id})
        await until(in_project, ids(world, "viewer"))
        await member.subscribe(query, {"p": world.project_id})
        await until(in_project, ids(world, "member", "viewer"))
        assert await task_viewers(world, task["id"])() == []  # the project room is not a task's

        # A user with two subscriptions stays until both have ended.
        await viewer.complete(first)
        await viewer.complete(second)
        await until(in_project, ids(world, "member"))
    await until(in_project, [])


async def test_viewers_changed_of_a_task_sends_the_list_then_each_join_and_leave(
    server: ServerProcess, world: World
) -> None:
    task = await world.create_task()
    other = await world.create_task()
    room = f"task:{task['id']}"
    async with (
        connect(server.ws_url, token=world.tokens["owner"]) as watcher,
        connect(server.ws_url, token=world.tokens["viewer"]) as viewer,
    ):
        async with connect(server.ws_url, token=world.tokens["member"]) as member:
            await member.subscribe(TASK_UPDATED, {"t": task["id"]})
            await until(task_viewers(world, task["id"]), ids(world, "member"))

            op = await watcher.subscribe(VIEWERS_CHANGED, {"t": task["id"]})
            assert await viewers_event(watcher, op) == (room, ids(world, "member"))

            joined = await viewer.subscribe(TASK_UPDATED, {"t": task["id"]})
            assert await viewers_event(watcher, op) == (room, ids(world, "member", "viewer"))

            # Joins elsewhere (another task, the project room) send nothing to this room.
            await viewer.subscribe(TASK_UPDATED, {"t": other["id"]})
            await member.subscribe(TASK_EVENTS, {"p": world.project_id})
            await until(task_viewers(world, other["id"]), ids(world, "viewer"))
            await until(project_viewers(world), ids(world, "member"))

            await viewer.complete(joined)
            assert await viewers_event(watcher, op) == (room, ids(world, "member"))
        # The member's connection closed.
        assert await viewers_event(watcher, op) == (room, [])


async def test_viewers_changed_of_a_project_sends_the_list_then_each_join_and_leave(
    server: ServerProcess, world: World
) -> None:
    task = await world.create_task()
    room = f"project:{world.project_id}"
    async with (
        connect(server.ws_url, token=world.tokens["viewer"]) as watcher,
        connect(server.ws_url, token=world.tokens["member"]) as member,
    ):
        op = await watcher.subscribe(VIEWERS_CHANGED, {"p": world.project_id})
        assert await viewers_event(watcher, op) == (room, [])

        async with connect(server.ws_url, token=world.tokens["owner"]) as owner:
            await owner.subscribe(PROJECT_SUBSCRIPTIONS["taskCreated"], {"p": world.project_id})
            assert await viewers_event(watcher, op) == (room, ids(world, "owner"))

            # A second subscription of the same user, and a task room, change nothing here.
            await owner.subscribe(TASK_EVENTS, {"p": world.project_id})
            await member.subscribe(TASK_UPDATED, {"t": task["id"]})
            await until(task_viewers(world, task["id"]), ids(world, "member"))

            joined = await member.subscribe(
                PROJECT_SUBSCRIPTIONS["taskDeleted"], {"p": world.project_id}
            )
            assert await viewers_event(watcher, op) == (room, ids(world, "member", "owner"))
        assert await viewers_event(watcher, op) == (room, ids(world, "member"))
        await member.complete(joined)
        assert await viewers_event(watcher, op) == (room, [])


@pytest.mark.parametrize(
    "variables",
    [{}, {"t": "both", "p": "both"}],
    ids=["neither", "both"],
)
async def test_viewers_changed_needs_exactly_one_room(
    server: ServerProcess, world: World, variables: dict[str, str]
) -> None:
    task = await world.create_task()
    given = {k: task["id"] if k == "t" else world.project_id for k in variables}
    async with connect(server.ws_url, token=world.tokens["owner"]) as ws:
        op = await ws.subscribe(VIEWERS_CHANGED, given)
        error = await first_error(ws, op)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error


@pytest.mark.parametrize("argument", ["t", "p"], ids=["taskId", "projectId"])
async def test_an_outsider_cannot_watch_the_viewers_of_another_project(
    server: ServerProcess, world: World, argument: str
) -> None:
    task = await world.create_task("secret")
    room_id = task["id"] if argument == "t" else world.project_id
    async with connect(server.ws_url, token=world.tokens["outsider"]) as ws:
        op = await ws.subscribe(VIEWERS_CHANGED, {argument: room_id})
        error = await first_error(ws, op)
    assert error["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND"), error
    outsider = await world.client.error(
        TASK_ROOM, {"t": task["id"]}, token=world.tokens["outsider"]
    )
    assert outsider["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND"), outsider


async def stats(gql: GraphQLClient) -> dict[str, Any]:
    data = await gql.data(STATS, token=ADMIN)
    figures: dict[str, Any] = data["realtimeStats"]
    return figures


async def settled_stats(gql: GraphQLClient) -> dict[str, Any]:
    """Figures that two reads in a row agree on (earlier tests' sockets have finished closing)."""
    previous = await stats(gql)
    async with asyncio.timeout(WAIT):
        while (current := await stats(gql)) != previous:
            previous = current
    return current


def totals(figures: dict[str, Any]) -> dict[str, int]:
    keys = ("connectedUsers", "connections", "subscriptions", "totalRooms")
    return {key: figures[key] for key in keys}


def mine(figures: dict[str, Any], world: World) -> dict[str, Any]:
    """The rooms and user rooms of this test's project and users only."""
    users = set(world.ids.values())
    return {
        "rooms": {
            r["room"]: (r["subscribers"], [u["id"] for u in r["users"]])
            for r in figures["rooms"]
            if any(u["id"] in users for u in r["users"])
        },
        "userRooms": {
            u["user"]["id"]: u["rooms"] for u in figures["userRooms"] if u["user"]["id"] in users
        },
    }


async def test_realtime_stats_count_connections_subscriptions_rooms_and_users(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    task_room, project_room = f"task:{task['id']}", f"project:{world.project_id}"
    before = await settled_stats(gql)
    assert len(before["instances"]) == 1
    assert mine(before, world) == {"rooms": {}, "userRooms": {}}

    async def my_figures() -> tuple[dict[str, int], dict[str, Any]]:
        figures = await stats(gql)
        delta = {k: v - totals(before)[k] for k, v in totals(figures).items()}
        return delta, mine(figures, world)

    async with (
        connect(server.ws_url, token=world.tokens["viewer"]) as viewer,
        connect(server.ws_url, token=world.tokens["member"]) as member,
        connect(server.ws_url, token=world.tokens["member"]),  # a second socket, in no room
        connect(server.ws_url, token=world.tokens["owner"]) as owner,
    ):
        await viewer.subscribe(TASK_UPDATED, {"t": task["id"]})
        await viewer.subscribe(TASK_EVENTS, {"p": world.project_id})
        await member.subscribe(TASK_EVENTS, {"p": world.project_id})
        # Watching who is in a room is a subscription, but does not put the owner in it.
        await owner.subscribe(VIEWERS_CHANGED, {"p": world.project_id})
        expected = (
            {"connectedUsers": 3, "connections": 4, "subscriptions": 4, "totalRooms": 2},
            {
                "rooms": {
                    project_room: (2, ids(world, "member", "viewer")),
                    task_room: (1, ids(world, "viewer")),
                },
                "userRooms": {
                    world.ids["member"]: [project_room],
                    world.ids["owner"]: [],
                    world.ids["viewer"]: sorted([project_room, task_room]),
                },
            },
        )
        await until(my_figures, expected)
        figures = await stats(gql)
        (instance,) = figures["instances"]
        assert instance["id"] == before["instances"][0]["id"]
        assert instance["startedAt"] == before["instances"][0]["startedAt"]
        assert instance["connections"] == figures["connections"]
        assert instance["subscriptions"] == figures["subscriptions"]
        assert figures["totalRooms"] == len(figures["rooms"])
        watching = 1  # the owner's viewersChanged
        assert (
            figures["subscriptions"] == sum(r["subscribers"] for r in figures["rooms"]) + watching
        )
    empty: tuple[dict[str, int], dict[str, Any]] = (
        dict.fromkeys(totals(before), 0),
        {"rooms": {}, "userRooms": {}},
    )
    await until(my_figures, empty)


async def test_realtime_stats_are_for_admins_only(world: World, gql: GraphQLClient) -> None:
    for role in ("owner", "viewer"):
        error = await gql.error(STATS, token=world.tokens[role])
        assert error["extensions"]["code"] == "FORBIDDEN", error
    error = await gql.error(STATS)
    assert error["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN"), error


REMOVE = "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }"
ADD = (
    "mutation($p: ID!, $u: ID!, $r: ProjectRole) "
    "{ addProjectMember(projectId: $p, userId: $u, role: $r) { role } }"
)
REBUILDS = "tasklive_presence_rebuilds_total"
PAYLOADS = "tasklive_presence_payloads_total"


async def subscription_error(ws: GraphQLWS, op: str) -> str:
    """The code `op` ends with: refused (`error`), or a result with errors then `complete`.

    Results without errors (the room's lists) before the end are skipped.
    """
    while True:
        message = await ws.recv()
        assert message["id"] == op, message
        if message["type"] == "error":
            return str(message["payload"][0]["extensions"]["code"])
        assert message["type"] in ("next", "data"), message
        errors = message["payload"].get("errors")
        if errors:
            assert message["payload"].get("data") is None, message
            assert (await ws.recv())["type"] == "complete"
            return str(errors[0]["extensions"]["code"])


@PROTOCOLS
async def test_viewers_changed_of_a_removed_member_ends_with_forbidden(
    server: ServerProcess, world: World, protocol: str
) -> None:
    task = await world.create_task()
    async with (
        connect(server.ws_url, token=world.tokens["owner"], protocol=protocol) as owner,
        connect(server.ws_url, token=world.tokens["member"], protocol=protocol) as member,
    ):
        kept = await owner.subscribe(VIEWERS_CHANGED, {"p": world.project_id})
        assert await viewers_event(owner, kept) == (f"project:{world.project_id}", [])
        of_project = await member.subscribe(VIEWERS_CHANGED, {"p": world.project_id})
        of_task = await member.subscribe(VIEWERS_CHANGED, {"t": task["id"]})
        firsts = [await member.next_data(), await member.next_data()]
        assert {e["viewersChanged"]["room"] for e in firsts} == {
            f"project:{world.project_id}",
            f"task:{task['id']}",
        }

        await world.client.data(
            REMOVE, {"p": world.project_id, "u": world.ids["member"]}, token=world.tokens["owner"]
        )
        ended: dict[str, list[str]] = {of_project: [], of_task: []}
        for _ in range(4):
            message = await member.recv()
            ended[message["id"]].append(message["type"])
            if message["type"] != "complete":
                assert message["payload"]["data"] is None, message
                assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        result = "next" if protocol == TRANSPORT_WS else "data"
        assert ended == {of_project: [result, "complete"], of_task: [result, "complete"]}

        # The owner's watcher goes on, and the member's next join is refused.
        await owner.subscribe(TASK_EVENTS, {"p": world.project_id})
        assert await viewers_event(owner, kept) == (
            f"project:{world.project_id}",
            ids(world, "owner"),
        )
        again = await member.subscribe(VIEWERS_CHANGED, {"p": world.project_id})
        assert await subscription_error(member, again) in ("FORBIDDEN", "NOT_FOUND")


async def test_a_removal_racing_a_viewers_changed_subscribe_never_leaves_it_open(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    """Subscribe and remove at once, many times: each try is refused or ended, none stays."""
    p, u, owner = world.project_id, world.ids["member"], world.tokens["owner"]
    codes: list[str] = []
    async with connect(server.ws_url, token=world.tokens["member"]) as ws:
        for attempt in range(25):
            op = f"race-{attempt}"
            await asyncio.gather(
                ws.subscribe(VIEWERS_CHANGED, {"p": p}, op_id=op),
                gql.data(REMOVE, {"p": p, "u": u}, token=owner),
            )
            codes.append(await subscription_error(ws, op))
            await gql.data(ADD, {"p": p, "u": u, "r": "MEMBER"}, token=owner)
    assert set(codes) <= {"FORBIDDEN", "NOT_FOUND"}, codes


async def counters(gql: GraphQLClient, server: ServerProcess) -> dict[str, float]:
    """The presence counters of /metrics."""
    response = await gql.http.get(f"{server.url}/metrics")
    assert response.status_code == 200
    found = {}
    for line in response.text.splitlines():
        name, _, value = line.partition(" ")
        if name in (REBUILDS, PAYLOADS):
            found[name] = float(value)
    assert set(found) == {REBUILDS, PAYLOADS}, "the presence counters are exported"
    return found


class Watchers:
    """`viewersChanged` of one room on a few sockets: each change is read from all of them."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.ops: dict[GraphQLWS, list[str]] = {}

    async def add(self, ws: GraphQLWS, variables: dict[str, str], count: int) -> None:
        ops = [await ws.subscribe(VIEWERS_CHANGED, variables) for _ in range(count)]
        self.ops.setdefault(ws, []).extend(ops)

    def __len__(self) -> int:
        return sum(len(ops) for ops in self.ops.values())

    async def next_lists(self, ws: GraphQLWS, count: int) -> dict[str, list[str]]:
        lists: dict[str, list[str]] = {}
        for _ in range(count):
            message = await ws.recv()
            assert message["type"] == "next", message
            event = message["payload"]["data"]["viewersChanged"]
            assert event["room"] == self.room
            assert message["id"] not in lists, "two lists for one change"
            lists[message["id"]] = [v["id"] for v in event["viewers"]]
        return lists

    async def expect(self, expected: list[str], *, new: dict[GraphQLWS, int] | None = None) -> None:
        """Every watcher (or only the `new` ones per socket) receives exactly `expected`."""
        counts = new or {ws: len(ops) for ws, ops in self.ops.items()}
        received = await asyncio.gather(*(self.next_lists(ws, n) for ws, n in counts.items()))
        for ws, lists in zip(counts, received, strict=True):
            assert set(lists) <= set(self.ops[ws])
            assert all(got == expected for got in lists.values()), (lists, expected)

    async def until(self, expected: list[str], allowed: list[list[str]]) -> None:
        """Each watcher reads lists (each one of `allowed`) until it receives `expected`,
        and nothing after it."""

        async def one_socket(ws: GraphQLWS) -> None:
            waiting = set(self.ops[ws])
            while waiting:
                message = await ws.recv()
                ids_ = [v["id"] for v in message["payload"]["data"]["viewersChanged"]["viewers"]]
                if ids_ == expected:
                    waiting.discard(message["id"])
                else:
                    assert message["id"] in waiting and ids_ in allowed, (message, expected)

        await asyncio.gather(*(one_socket(ws) for ws in self.ops))


async def test_a_change_costs_one_rebuild_whatever_the_number_of_watchers(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    """100 subscriptions in a task room, 1 then 100 watchers of it: each join and leave
    rebuilds the room's list once and loads its users once, for every watcher at once."""
    task = await world.create_task()
    room = f"task:{task['id']}"
    watchers = Watchers(room)
    viewer, both = ids(world, "viewer"), ids(world, "member", "viewer")
    async with (
        connect(server.ws_url, token=world.tokens["viewer"]) as subs_a,
        connect(server.ws_url, token=world.tokens["viewer"]) as subs_b,
        connect(server.ws_url, token=world.tokens["member"]) as member,
        connect(server.ws_url, token=world.tokens["owner"]) as owner,
        connect(server.ws_url, token=world.tokens["owner"]) as watching_a,
        connect(server.ws_url, token=world.tokens["owner"]) as watching_b,
        connect(server.ws_url, token=world.tokens["viewer"]) as watching_c,
        connect(server.ws_url, token=world.tokens["member"]) as watching_d,
    ):
        for ws in (subs_a, subs_b):
            for _ in range(50):
                await ws.subscribe(TASK_UPDATED, {"t": task["id"]})

        async def subscribers() -> list[int]:
            return [r["subscribers"] for r in (await stats(gql))["rooms"] if r["room"] == room]

        await until(subscribers, [100])  # all joined: no join left to count below
        assert await task_viewers(world, task["id"])() == viewer

        async def changes(rounds: int) -> dict[str, float]:
            """`rounds` joins and leaves of the member, each seen by every watcher."""
            before = await counters(gql, server)
            for _ in range(rounds):
                joined = await member.subscribe(TASK_UPDATED, {"t": task["id"]})
                await watchers.expect(both)
                await member.complete(joined)
                await watchers.expect(viewer)
            after = await counters(gql, server)
            return {name: after[name] - before[name] for name in after}

        await watchers.add(watching_a, {"t": task["id"]}, 1)
        await watchers.expect(viewer)
        with_one = await changes(3)

        more = {watching_a: 24, watching_b: 25, watching_c: 25, watching_d: 25}
        for ws, count in more.items():
            await watchers.add(ws, {"t": task["id"]}, count)
        await watchers.expect(viewer, new=more)  # the current list first
        assert len(watchers) == 100
        with_hundred = await changes(3)

        assert with_one == {REBUILDS: 6, PAYLOADS: 6}, with_one
        assert with_hundred == with_one

        # Churn without waiting: the lists in between vary; once it has settled, one more
        # change reaches every watcher as exactly one list, and so does the last one.
        for _ in range(10):
            joined = await member.subscribe(TASK_UPDATED, {"t": task["id"]})
            await member.complete(joined)
        await member.subscribe(TASK_UPDATED, {"t": task["id"]})
        await until(task_viewers(world, task["id"]), both)
        left = await owner.subscribe(TASK_UPDATED, {"t": task["id"]})
        await watchers.until(ids(world, "member", "owner", "viewer"), allowed=[viewer, both])
        await owner.complete(left)
        await watchers.expect(both)


@pytest.fixture
def two_instances(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers on one PostgreSQL database and this test's own redis-server."""
    require_postgres()
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with pg_servers(tmp_path, 2, BROADCAST_URL=redis.url) as (a, b):
            yield a, b
    finally:
        redis.stop()


@pytest.fixture
async def clients(
    two_instances: tuple[ServerProcess, ServerProcess],
) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    a, b = two_instances
    async with httpx.AsyncClient(timeout=20) as http:
        for server in (a, b):  # both hold their broker subscription
            await until(functools.partial(_ready, http, server), 200)
        yield GraphQLClient(a.graphql_url, http), GraphQLClient(b.graphql_url, http)


async def _ready(http: httpx.AsyncClient, server: ServerProcess) -> int:
    return (await http.get(f"{server.url}/readyz")).status_code


async def test_across_two_instances_each_change_costs_one_rebuild_per_instance(
    two_instances: tuple[ServerProcess, ServerProcess],
    clients: tuple[GraphQLClient, GraphQLClient],
) -> None:
    """Watchers on both instances hear of joins and leaves on either one, each instance
    rebuilding the room once per change; a removal made on A ends the watcher on B."""
    a, b = two_instances
    on_a, on_b = clients
    world = await World(on_a).setup()
    room = f"project:{world.project_id}"
    watchers = Watchers(room)
    async with (
        connect(a.ws_url, token=world.tokens["owner"]) as watching_a,
        connect(b.ws_url, token=world.tokens["owner"]) as watching_b,
        connect(a.ws_url, token=world.tokens["member"]) as member,
        connect(b.ws_url, token=world.tokens["viewer"]) as viewer,
        connect(b.ws_url, token=world.tokens["member"]) as member_on_b,
    ):
        for ws in (watching_a, watching_b):
            await watchers.add(ws, {"p": world.project_id}, 10)
        await watchers.expect([])
        before = [await counters(on_a, a), await counters(on_b, b)]

        joined = await member.subscribe(TASK_EVENTS, {"p": world.project_id})
        await watchers.expect(ids(world, "member"))
        await viewer.subscribe(TASK_EVENTS, {"p": world.project_id})
        await watchers.expect(ids(world, "member", "viewer"))
        await member.complete(joined)
        await watchers.expect(ids(world, "viewer"))

        after = [await counters(on_a, a), await counters(on_b, b)]
        assert [x[REBUILDS] - y[REBUILDS] for x, y in zip(after, before, strict=True)] == [3, 3]

        watch = await member_on_b.subscribe(VIEWERS_CHANGED, {"p": world.project_id})
        assert await viewers_event(member_on_b, watch) == (room, ids(world, "viewer"))
        await on_a.data(
            REMOVE, {"p": world.project_id, "u": world.ids["member"]}, token=world.tokens["owner"]
        )
        assert await subscription_error(member_on_b, watch) == "FORBIDDEN"
