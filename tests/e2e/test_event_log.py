"""Concurrent writers over HTTP: the project's events are one gapless sequence in commit order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import Any

from tests.support.client import GraphQLClient, World, token, unique

EVENTS = """
query Events($p: ID!, $a: String, $n: Int) {
  taskEvents(projectId: $p, after: $a, first: $n) {
    __typename cursor taskId projectId occurredAt
    ... on TaskCreatedEvent { task { id title version status } createdBy { id name } }
    ... on TaskUpdatedEvent {
      task { id version status } changedFields previousStatus updatedBy { id name }
    }
  }
}
"""
CREATE = """
mutation Create($i: CreateTaskInput!) { createTask(input: $i) { id title version status } }
"""
SET_STATUS = """
mutation SetStatus($id: ID!, $s: TaskStatus!) {
  updateTaskStatus(id: $id, status: $s) { id version status }
}
"""
TARGETS = ("IN_PROGRESS", "COMPLETED", "CANCELLED")  # none is PENDING, so each one changes


async def _writers(world: World, gql: GraphQLClient) -> dict[str, tuple[str, str]]:
    """Four users who may write, by id, with token and name: owner, member, two more members."""
    writers = {world.ids[role]: (world.tokens[role], role.title()) for role in ("owner", "member")}
    for i in range(2):
        user_id = unique("writer")
        writers[user_id] = (token(user_id, name=f"Writer {i}"), f"Writer {i}")
        await gql.data("{ me { id } }", token=writers[user_id][0])
        await gql.data(
            "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u) { role } }",
            {"p": world.project_id, "u": user_id},
            token=world.tokens["owner"],
        )
    return writers


async def _all_events(gql: GraphQLClient, world: World, *, page: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = None
    while True:
        data = await gql.data(
            EVENTS, {"p": world.project_id, "a": after, "n": page}, token=world.tokens["viewer"]
        )
        batch = data["taskEvents"]
        events += batch
        if len(batch) < page:
            return events
        after = batch[-1]["cursor"]


async def test_concurrent_writers_produce_one_gapless_sequence(
    world: World, gql: GraphQLClient
) -> None:
    writers = await _writers(world, gql)
    actors = list(writers)
    seeded = [await world.create_task(f"seed {i}") for i in range(4)]

    # 20 writers at once: 8 creates and 12 status changes (3 on each seeded task).
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(8):
        calls.append(
            (actors[i % 4], CREATE, {"i": {"projectId": world.project_id, "title": f"c{i}"}})
        )
    for i, target in enumerate(TARGETS * 4):
        calls.append((actors[(i + 1) % 4], SET_STATUS, {"id": seeded[i % 4]["id"], "s": target}))
    replies = await asyncio.gather(
        *(gql.data(query, variables, token=writers[actor][0]) for actor, query, variables in calls)
    )

    # What each change must look like in the log, by (task id, version).
    expected: dict[tuple[str, int], tuple[str, str, str]] = {
        (t["id"], 1): ("TaskCreatedEvent", world.ids["owner"], t["status"]) for t in seeded
    }
    for (actor, _, _), reply in zip(calls, replies, strict=True):
        task = reply.get("createTask") or reply["updateTaskStatus"]
        kind = "TaskCreatedEvent" if "createTask" in reply else "TaskUpdatedEvent"
        expected[(task["id"], task["version"])] = (kind, actor, task["status"])
    assert len(expected) == 24

    events = await _all_events(gql, world, page=100)
    assert len(events) == 24
    assert len({e["cursor"] for e in events}) == 24
    # Paging from any cursor continues with the very next event: no gap, no duplicate.
    assert await _all_events(gql, world, page=5) == events
    for k in range(0, len(events) - 1, 6):
        data = await gql.data(
            EVENTS,
            {"p": world.project_id, "a": events[k]["cursor"], "n": 1},
            token=world.tokens["member"],
        )
        assert data["taskEvents"] == [events[k + 1]]
    # Numbers are taken under the project's lock, so cursor order is also time order.
    times = [datetime.fromisoformat(e["occurredAt"]) for e in events]
    assert times == sorted(times)

    last_of: dict[str, dict[str, Any]] = {}
    versions: dict[str, list[int]] = defaultdict(list)
    for event in events:
        task = event["task"]
        assert event["projectId"] == world.project_id and event["taskId"] == task["id"]
        kind, actor, status = expected.pop((task["id"], task["version"]))
        assert (event["__typename"], task["status"]) == (kind, status)
        if kind == "TaskCreatedEvent":
            assert event["createdBy"] == {"id": actor, "name": writers[actor][1]}
        else:
            assert event["updatedBy"] == {"id": actor, "name": writers[actor][1]}
            assert event["changedFields"] == ["status"]
            # Commit order: each change saw the state the previous event of its task left.
            assert event["previousStatus"] == last_of[task["id"]]["status"]
        last_of[task["id"]] = task
        versions[task["id"]].append(task["version"])
    assert not expected
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), versions
    assert sorted(len(v) for v in versions.values()) == [1] * 8 + [4] * 4
