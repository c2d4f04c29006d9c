"""Subscriptions on one server: payloads, order, resume, revocation, deleted tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from graph.resolvers.inputs import decode_event_cursor
from tests.support.client import GraphQLClient, World
from tests.support.servers import ServerProcess
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, GraphQLWS, connect

TASK_UPDATED = """
subscription($t: ID!, $a: String) {
  taskUpdated(taskId: $t, after: $a) {
    cursor occurredAt taskId projectId previousStatus changedFields
    task { id status version title }
    updatedBy { id name }
  }
}"""
TASK_EVENTS = """
subscription($p: ID!, $a: String) {
  taskEvents(projectId: $p, after: $a) {
    __typename cursor taskId
    ... on TaskUpdatedEvent { task { version status } }
    ... on TaskCreatedEvent { task { title } }
  }
}"""
SET_STATUS = """
mutation($id: ID!, $s: TaskStatus!) { updateTaskStatus(id: $id, status: $s) { version } }"""
STATUSES = ["IN_PROGRESS", "COMPLETED", "PENDING", "CANCELLED"]


async def set_status(world: World, task_id: str, status: str, role: str = "member") -> int:
    data = await world.client.data(
        SET_STATUS, {"id": task_id, "s": status}, token=world.tokens[role]
    )
    version: int = data["updateTaskStatus"]["version"]
    return version


@contextlib.asynccontextmanager
async def watching(
    server: ServerProcess, world: World, task_id: str, *, protocol: str = TRANSPORT_WS
) -> AsyncIterator[tuple[GraphQLWS, str]]:
    """The viewer's socket and its `taskUpdated` operation on `task_id`, once the server counts
    the viewer in the task's room (so that no change made afterwards can be missed)."""
    async with connect(server.ws_url, token=world.tokens["viewer"], protocol=protocol) as ws:
        op = await ws.subscribe(TASK_UPDATED, {"t": task_id})
        await world.wait_for_viewers(task_id, 1)
        yield ws, op


async def test_task_updated_reaches_another_user_with_the_full_payload(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task("Write docs")
    async with watching(server, world, task["id"]) as (ws, op):
        await set_status(world, task["id"], "IN_PROGRESS")
        event = (await ws.next_data(op))["taskUpdated"]
    assert event["task"] == {
        "id": task["id"],
        "status": "IN_PROGRESS",
        "version": 2,
        "title": "Write docs",
    }
    assert event["previousStatus"] == "PENDING"
    assert event["changedFields"] == ["status"]
    assert event["updatedBy"] == {"id": world.ids["member"], "name": "Member"}
    assert event["projectId"] == world.project_id and event["taskId"] == task["id"]
    assert event["cursor"] and event["occurredAt"].endswith("+00:00")


async def test_events_arrive_in_order_exactly_once(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with watching(server, world, task["id"]) as (ws, op):
        for i in range(20):
            await set_status(world, task["id"], STATUSES[i % 4])
        versions = [(await ws.next_data(op))["taskUpdated"]["task"]["version"] for _ in range(20)]
        assert versions == list(range(2, 22))
        # Nothing more arrives: each change was delivered once.
        await set_status(world, task["id"], "COMPLETED")
        assert (await ws.next_data(op))["taskUpdated"]["task"]["version"] == 22


async def test_project_subscriptions_see_creates_and_deletes(
    server: ServerProcess, world: World
) -> None:
    # One subscription per user, so that the room's viewer count says all three have joined.
    async with (
        connect(server.ws_url, token=world.tokens["viewer"]) as viewer,
        connect(server.ws_url, token=world.tokens["member"]) as member,
        connect(server.ws_url, token=world.tokens["owner"]) as owner,
    ):
        created = await viewer.subscribe(
            "subscription($p: ID!) { taskCreated(projectId: $p) "
            "{ task { id title } createdBy { id } } }",
            {"p": world.project_id},
            op_id="created",
        )
        deleted = await member.subscribe(
            "subscription($p: ID!) { taskDeleted(projectId: $p) { taskId deletedBy { id } } }",
            {"p": world.project_id},
            op_id="deleted",
        )
        everything = await owner.subscribe(TASK_EVENTS, {"p": world.project_id}, op_id="all")
        await world.wait_for_project_viewers(3)
        task = await world.create_task("new one")
        await world.client.data(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            {"id": task["id"]},
            token=world.tokens["member"],
        )
        got: dict[str, list[dict[str, Any]]] = {
            created: [await viewer.next_data(created)],
            deleted: [await member.next_data(deleted)],
            everything: [await owner.next_data(everything) for _ in range(2)],
        }
    assert got[created] == [
        {
            "taskCreated": {
                "task": {"id": task["id"], "title": "new one"},
                "createdBy": {"id": world.ids["owner"]},
            }
        }
    ]
    assert got[deleted] == [
        {"taskDeleted": {"taskId": task["id"], "deletedBy": {"id": world.ids["member"]}}}
    ]
    kinds = [e["taskEvents"]["__typename"] for e in got[everything]]
    assert kinds == ["TaskCreatedEvent", "TaskDeletedEvent"]


async def test_task_updated_ends_with_not_found_when_the_task_is_deleted(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with watching(server, world, task["id"]) as (ws, op):
        await gql.data(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            {"id": task["id"]},
            token=world.tokens["owner"],
        )
        message = await ws.recv()
        assert message["id"] == op
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
        assert (await ws.recv())["type"] == "complete"


async def test_resume_after_a_disconnect_delivers_every_missed_event_once(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with watching(server, world, task["id"]) as (ws, op):
        await set_status(world, task["id"], "IN_PROGRESS")
        cursor = (await ws.next_data(op))["taskUpdated"]["cursor"]
    for status in ["COMPLETED", "PENDING", "IN_PROGRESS"]:  # missed while away
        await set_status(world, task["id"], status)
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        op = await ws.subscribe(TASK_UPDATED, {"t": task["id"], "a": cursor})
        replayed = [(await ws.next_data(op))["taskUpdated"]["task"]["version"] for _ in range(3)]
        await set_status(world, task["id"], "COMPLETED")
        live = (await ws.next_data(op))["taskUpdated"]["task"]["version"]
    assert replayed == [3, 4, 5]
    assert live == 6


async def test_last_event_cursor_lets_a_fresh_client_load_then_follow_without_a_gap(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    await set_status(world, task["id"], "IN_PROGRESS")
    query = "query($p: ID!) { project(id: $p) { lastEventCursor } }"
    cursor = (await gql.data(query, {"p": world.project_id}, token=world.tokens["viewer"]))[
        "project"
    ]["lastEventCursor"]
    # The board loads its tasks now; this change lands between that load and its subscribe.
    await set_status(world, task["id"], "COMPLETED")
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        op = await ws.subscribe(TASK_EVENTS, {"p": world.project_id, "a": cursor})
        first = (await ws.next_data(op))["taskEvents"]
        await set_status(world, task["id"], "PENDING")
        second = (await ws.next_data(op))["taskEvents"]
    assert (first["task"], second["task"]) == (
        {"version": 3, "status": "COMPLETED"},
        {"version": 4, "status": "PENDING"},
    )
    quiet = await gql.data(
        'mutation { createProject(name: "quiet") { id lastEventCursor } }',
        token=world.tokens["owner"],
    )
    project = quiet["createProject"]
    assert decode_event_cursor(project["lastEventCursor"], project_id=project["id"]) == 0


async def test_resume_while_writes_continue_has_no_gap_and_no_duplicate(
    server: ServerProcess, world: World
) -> None:
    tasks = [await world.create_task(f"t{i}") for i in range(5)]
    first = await world.client.data(
        "query($p: ID!) { taskEvents(projectId: $p) { cursor } }",
        {"p": world.project_id},
        token=world.tokens["viewer"],
    )
    cursor = first["taskEvents"][0]["cursor"]  # after the first create: 4 creates to replay

    async def writer() -> None:
        for i in range(30):
            await set_status(world, tasks[i % 5]["id"], STATUSES[i % 4])

    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        writing = asyncio.create_task(writer())
        op = await ws.subscribe(TASK_EVENTS, {"p": world.project_id, "a": cursor})
        await writing
        log = await world.client.data(
            "query($p: ID!) { taskEvents(projectId: $p, first: 100) { cursor } }",
            {"p": world.project_id},
            token=world.tokens["viewer"],
        )
        expected = [e["cursor"] for e in log["taskEvents"]][1:]
        assert len(expected) >= 4 + 25
        cursors = [(await ws.next_data(op))["taskEvents"]["cursor"] for _ in expected]
        with contextlib.suppress(TimeoutError):
            extra = await ws.recv(timeout=0.3)
            raise AssertionError(f"an event beyond the log: {extra}")
    assert cursors == expected


async def test_a_removed_member_is_cut_off_at_once_with_forbidden(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with connect(server.ws_url, token=world.tokens["viewer"]) as ws:
        op = await ws.subscribe(TASK_UPDATED, {"t": task["id"]})
        other = await ws.subscribe(TASK_EVENTS, {"p": world.project_id})
        await world.wait_for_viewers(task["id"], 1)
        await gql.data(
            "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }",
            {"p": world.project_id, "u": world.ids["viewer"]},
            token=world.tokens["owner"],
        )
        ended: dict[str, list[str]] = {op: [], other: []}
        for _ in range(4):
            message = await ws.recv()
            ended[message["id"]].append(message["type"])
            if message["type"] == "next":
                assert message["payload"]["data"] is None
                assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert ended == {op: ["next", "complete"], other: ["next", "complete"]}
        # Later changes reach nobody on this socket.
        await set_status(world, task["id"], "COMPLETED")
        async with connect(server.ws_url, token=world.tokens["member"]) as probe:
            probe_op = await probe.subscribe(TASK_UPDATED, {"t": task["id"]})
            await world.wait_for_viewers(task["id"], 1)
            await set_status(world, task["id"], "PENDING")
            await probe.next_data(probe_op)
        try:
            extra = await ws.recv(timeout=0.2)
        except TimeoutError:
            extra = None
        assert extra is None


async def test_legacy_protocol_delivers_after_connection_init(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with watching(server, world, task["id"], protocol=LEGACY_WS) as (ws, op):
        await set_status(world, task["id"], "IN_PROGRESS")
        assert (await ws.next_data(op))["taskUpdated"]["task"]["version"] == 2
