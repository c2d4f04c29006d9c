"""Many writers of one task at once: optimistic locking, no lost update, one event per change."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.client import GraphQLClient, World, token, unique

WRITERS = 50
ROUNDS = 3
STATUSES = ["PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED"]
STATUS = (
    "mutation($id: ID!, $s: TaskStatus!, $v: Int) "
    "{ updateTaskStatus(id: $id, status: $s, expectedVersion: $v) { id status version } }"
)
TASK = "query($t: ID!) { task(id: $t) { status version } }"
EVENTS = (
    "query($p: ID!, $a: String, $f: Int) { taskEvents(projectId: $p, after: $a, first: $f) { "
    "__typename cursor taskId "
    "... on TaskCreatedEvent { task { version status } } "
    "... on TaskUpdatedEvent { task { version status } previousStatus updatedBy { id } } } }"
)


async def add_writers(world: World, gql: GraphQLClient, count: int) -> list[tuple[str, str]]:
    """`count` fresh MEMBERs of the world's project: (user id, token) each."""
    ids = [unique("writer") for _ in range(count)]
    tokens = [token(uid, name=uid) for uid in ids]
    await asyncio.gather(*(gql.data("{ me { id } }", token=t) for t in tokens))
    for uid in ids:
        await gql.data(
            "mutation($p: ID!, $u: ID!) "
            "{ addProjectMember(projectId: $p, userId: $u, role: MEMBER) { role } }",
            {"p": world.project_id, "u": uid},
            token=world.tokens["owner"],
        )
    return list(zip(ids, tokens, strict=True))


async def all_events(world: World, gql: GraphQLClient) -> list[dict[str, Any]]:
    """The project's whole event log, page by page."""
    events: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await gql.data(
            EVENTS, {"p": world.project_id, "a": after, "f": 100}, token=world.tokens["owner"]
        )
        batch: list[dict[str, Any]] = page["taskEvents"]
        events.extend(batch)
        if len(batch) < 100:
            return events
        after = batch[-1]["cursor"]


async def change(
    gql: GraphQLClient, task_id: str, status: str, version: int | None, writer: str
) -> dict[str, Any]:
    return await gql.post(STATUS, {"id": task_id, "s": status, "v": version}, token=writer)


def versions_of(events: list[dict[str, Any]], task_id: str) -> list[int]:
    return [e["task"]["version"] for e in events if e["taskId"] == task_id]


async def test_with_expected_version_exactly_one_writer_wins_each_version(
    world: World, gql: GraphQLClient
) -> None:
    writers = [t for _, t in await add_writers(world, gql, WRITERS)]
    task = await world.create_task("contended")
    task_id = task["id"]
    winners: list[dict[str, Any]] = []
    for round_ in range(ROUNDS):
        read = (await gql.data(TASK, {"t": task_id}, token=writers[0]))["task"]
        # Every writer asks for a real change: a status other than the current one.
        targets = [s for s in STATUSES if s != read["status"]]
        replies = await asyncio.gather(
            *(
                change(gql, task_id, targets[i % len(targets)], read["version"], writer)
                for i, writer in enumerate(writers)
            )
        )
        won = [r["data"]["updateTaskStatus"] for r in replies if not r.get("errors")]
        lost = [r for r in replies if r.get("errors")]
        assert len(won) == 1, (round_, replies)
        assert won[0]["version"] == read["version"] + 1
        assert len(lost) == WRITERS - 1
        for reply in lost:
            assert reply["data"] is None, reply
            extensions = reply["errors"][0]["extensions"]
            assert extensions == {"code": "CONFLICT", "currentVersion": read["version"] + 1}
        winners.append(won[0])

    versions = [1] + [w["version"] for w in winners]
    assert versions == list(range(1, ROUNDS + 2)), versions
    final = (await gql.data(TASK, {"t": task_id}, token=writers[0]))["task"]
    assert final == {"status": winners[-1]["status"], "version": winners[-1]["version"]}

    events = [e for e in await all_events(world, gql) if e["taskId"] == task_id]
    assert [e["__typename"] for e in events] == ["TaskCreatedEvent"] + ["TaskUpdatedEvent"] * ROUNDS
    assert [e["task"] for e in events[1:]] == [
        {"version": w["version"], "status": w["status"]} for w in winners
    ]
    cursors = [e["cursor"] for e in events]
    assert len(set(cursors)) == len(cursors)


async def test_without_expected_version_every_change_has_one_event_and_no_update_is_lost(
    world: World, gql: GraphQLClient
) -> None:
    writers = await add_writers(world, gql, WRITERS)
    task = await world.create_task("free for all")
    task_id = task["id"]
    targets = {uid: ("IN_PROGRESS", "PENDING")[i % 2] for i, (uid, _) in enumerate(writers)}
    # Alternating targets: whichever order the server takes them in, some are real changes
    # (a version bump and an event) and some find the task already in that status (no-ops).
    replies = await asyncio.gather(
        *(change(gql, task_id, targets[uid], None, tok) for uid, tok in writers)
    )
    for reply in replies:
        assert not reply.get("errors"), reply
    results = {
        uid: r["data"]["updateTaskStatus"] for (uid, _), r in zip(writers, replies, strict=True)
    }
    final = (await gql.data(TASK, {"t": task_id}, token=writers[0][1]))["task"]

    events = [e for e in await all_events(world, gql) if e["taskId"] == task_id]
    assert events[0]["__typename"] == "TaskCreatedEvent"
    updates = events[1:]
    assert len(updates) >= 1, events  # the first IN_PROGRESS taken is always a real change
    # Versions are gapless and in order, and the final state is the last event's.
    versions = versions_of(events, task_id)
    assert versions == list(range(1, final["version"] + 1)), versions
    last = events[-1]["task"]
    assert final == {"status": last["status"], "version": last["version"]}
    # Each event is a real change from the state the previous one left.
    previous = "PENDING"
    for event in updates:
        assert event["previousStatus"] == previous, updates
        assert event["task"]["status"] != previous, updates
        previous = event["task"]["status"]
    # Each writer whose change bumped the version has exactly one event, carrying the state
    # its reply reported; every other writer found the task already in its status.
    updaters = [e["updatedBy"]["id"] for e in updates]
    assert len(updaters) == len(set(updaters)), updaters
    by_writer = {e["updatedBy"]["id"]: e["task"] for e in updates}
    by_version = {e["task"]["version"]: e["task"] for e in events}
    for uid, result in results.items():
        assert result["status"] == targets[uid], (uid, result)
        if uid in by_writer:
            assert by_writer[uid] == {"version": result["version"], "status": result["status"]}
        else:
            assert by_version[result["version"]]["status"] == result["status"], (uid, result)
    assert sorted(r["version"] for uid, r in results.items() if uid in by_writer) == versions[1:]
