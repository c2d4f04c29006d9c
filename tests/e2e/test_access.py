"""Authorisation, end to end: every query and mutation on a project, tried by every kind of caller.

The matrix below is the contract's access rules as a table. Each row is one operation on the
`world` project; each column is who tries it. `hidden` means FORBIDDEN or NOT_FOUND with no data
and nothing of the project (its id, name, task ids or titles) anywhere in the reply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.client import GraphQLClient, World, token, unique

ROLES = ("outsider", "viewer", "member", "owner", "admin", "anonymous")

OK = "ok"
HIDDEN = "hidden"
FORBIDDEN = "FORBIDDEN"
CONFLICT = "CONFLICT"
BAD_INPUT = "BAD_USER_INPUT"
UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Op:
    name: str
    query: str
    variables: dict[str, str]  # variable -> key of the ids the test made (see `_ids`)
    expect: tuple[str, ...]  # one outcome per role, in the order of ROLES


# Rows run in this order, one caller at a time, on a fresh project per caller: reads first,
# then writes, each on its own task, then membership (removing the sole OWNER is tried before
# a second OWNER is added).
OPS = [
    # expect: (outsider, viewer, member, owner, admin, anonymous)
    Op(
        "project",
        "query($p: ID!) { project(id: $p) { id name members { role user { id } } "
        "tasks { totalCount edges { node { id title } } } viewers { id } } }",
        {"p": "project"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "tasks",
        "query($p: ID!) { tasks(projectId: $p) { totalCount edges { node { id title } } } }",
        {"p": "project"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "tasks(status, assigneeId)",
        "query($p: ID!, $u: ID) { tasks(projectId: $p, status: PENDING, assigneeId: $u) "
        "{ totalCount edges { node { id title } } } }",
        {"p": "project", "u": "member_id"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "task",
        "query($t: ID!) { task(id: $t) { id title version project { id name } } }",
        {"t": "t_read"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "task { viewers }",
        "query($t: ID!) { task(id: $t) { viewers { id } } }",
        {"t": "t_read"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "taskEvents",
        "query($p: ID!) { taskEvents(projectId: $p) { cursor taskId projectId "
        "... on TaskCreatedEvent { task { id title } } } }",
        {"p": "project"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "usersInTask",
        "query($t: ID!) { usersInTask(taskId: $t) { id } }",
        {"t": "t_read"},
        (HIDDEN, OK, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "createTask",
        'mutation($p: ID!) { createTask(input: {projectId: $p, title: "new"}) { id title } }',
        {"p": "project"},
        (HIDDEN, FORBIDDEN, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "updateTask",
        'mutation($t: ID!) { updateTask(id: $t, input: {title: "changed"}) { id title } }',
        {"t": "t_update"},
        (HIDDEN, FORBIDDEN, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "updateTaskStatus",
        "mutation($t: ID!) { updateTaskStatus(id: $t, status: COMPLETED) { id title } }",
        {"t": "t_status"},
        (HIDDEN, FORBIDDEN, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "updateTaskStatus(expectedVersion: current)",
        "mutation($t: ID!) { updateTaskStatus(id: $t, status: COMPLETED, expectedVersion: 1) "
        "{ id title } }",
        {"t": "t_status_v"},
        (HIDDEN, FORBIDDEN, OK, OK, OK, UNAUTHENTICATED),
    ),
    # A CONFLICT would tell an outsider the task exists, and carry its version.
    Op(
        "updateTaskStatus(expectedVersion: stale)",
        "mutation($t: ID!) { updateTaskStatus(id: $t, status: COMPLETED, expectedVersion: 7) "
        "{ id title } }",
        {"t": "t_read"},
        (HIDDEN, FORBIDDEN, CONFLICT, CONFLICT, CONFLICT, UNAUTHENTICATED),
    ),
    Op(
        "bulkUpdateTaskStatus",
        "mutation($a: ID!, $b: ID!) { bulkUpdateTaskStatus(ids: [$a, $b], status: CANCELLED) "
        "{ id title } }",
        {"a": "t_bulk_a", "b": "t_bulk_b"},
        (HIDDEN, FORBIDDEN, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "deleteTask",
        "mutation($t: ID!) { deleteTask(id: $t) }",
        {"t": "t_delete"},
        (HIDDEN, FORBIDDEN, OK, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "removeProjectMember(the only OWNER)",
        "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }",
        {"p": "project", "u": "owner_id"},
        (HIDDEN, FORBIDDEN, FORBIDDEN, BAD_INPUT, BAD_INPUT, UNAUTHENTICATED),
    ),
    Op(
        "addProjectMember(the outsider as OWNER)",
        "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: OWNER) "
        "{ role user { id } } }",
        {"p": "project", "u": "outsider_id"},
        (HIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "removeProjectMember(the viewer)",
        "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }",
        {"p": "project", "u": "viewer_id"},
        (HIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, UNAUTHENTICATED),
    ),
    Op(
        "realtimeStats",
        "{ realtimeStats { connectedUsers connections subscriptions totalRooms "
        "rooms { room } instances { id } } }",
        {},
        (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, UNAUTHENTICATED),
    ),
]

assert all(len(op.expect) == len(ROLES) for op in OPS)
MATRIX_CASES = len(OPS) * len(ROLES)

STATE = (
    "query($p: ID!) { project(id: $p) { name members { role user { id } } "
    "tasks(first: 100) { edges { node { id title status version } } } } "
    "taskEvents(projectId: $p, first: 100) { cursor } }"
)


async def _ids(world: World) -> dict[str, str]:
    """The project's tasks, one per writing row, plus user ids."""
    tasks = ["t_read", "t_update", "t_status", "t_status_v", "t_bulk_a", "t_bulk_b", "t_delete"]
    ids = {"project": world.project_id}
    for key in tasks:
        created = await world.create_task(unique(f"secret-{key}"), assigneeId=world.ids["member"])
        ids[key] = created["id"]
    ids.update({f"{role}_id": uid for role, uid in world.ids.items()})
    return ids


async def _state(gql: GraphQLClient, world: World) -> dict[str, Any]:
    return await gql.data(STATE, {"p": world.project_id}, token=world.tokens["owner"])


def _secrets(state: dict[str, Any], project_id: str) -> list[str]:
    """What an outsider must never see: the project's id and name, its tasks' ids and titles."""
    nodes = [e["node"] for e in state["project"]["tasks"]["edges"]]
    return [project_id, state["project"]["name"], *(n["id"] for n in nodes)] + [
        n["title"] for n in nodes
    ]


def _caller_token(world: World, role: str) -> str | None:
    if role == "anonymous":
        return None
    if role == "admin":
        return token(unique("admin"), name="Admin", admin=True)
    return world.tokens[role]


def _outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors")
    if not errors:
        return OK
    return str(errors[0].get("extensions", {}).get("code"))


def _check(op: Op, role: str, expected: str, body: dict[str, Any]) -> list[str]:
    """What is wrong with one reply (nothing when it is as the matrix says)."""
    where = f"{op.name} as {role}"
    got = _outcome(body)
    if expected == OK:
        data = body.get("data") or {}
        if got != OK or not data or any(value is None for value in data.values()):
            return [f"{where}: expected data, got {body}"]
        return []
    allowed = {FORBIDDEN, "NOT_FOUND"} if expected == HIDDEN else {expected}
    problems = []
    if got not in allowed:
        problems.append(f"{where}: expected {sorted(allowed)}, got {got}: {body}")
    if len(body.get("errors") or []) != 1:
        problems.append(f"{where}: expected exactly one error: {body}")
    data = body.get("data")
    if data is not None and any(value is not None for value in data.values()):
        problems.append(f"{where}: expected no data, got {data}")
    return problems


@pytest.mark.parametrize("role", ROLES, ids=[f"{role}-{len(OPS)}ops" for role in ROLES])
async def test_access_matrix(world: World, gql: GraphQLClient, role: str) -> None:
    ids = await _ids(world)
    before = await _state(gql, world)
    secrets = _secrets(before, world.project_id)
    caller = _caller_token(world, role)
    column = ROLES.index(role)

    problems: list[str] = []
    for op in OPS:
        expected = op.expect[column]
        variables = {name: ids[key] for name, key in op.variables.items()}
        response = await gql.http.post(
            gql.url,
            json={"query": op.query, "variables": variables},
            headers={"authorization": f"Bearer {caller}"} if caller else {},
        )
        assert response.status_code == 200, response.text
        problems += _check(op, role, expected, response.json())
        if expected != OK and role in ("outsider", "anonymous"):
            problems += [
                f"{op.name} as {role}: the reply shows {secret!r}: {response.text}"
                for secret in secrets
                if secret in response.text
            ]

    listed = await gql.post("{ projects { id name } }", token=caller)
    if role == "anonymous":
        problems += _check(OPS[0], role, UNAUTHENTICATED, listed)
    else:
        names = [p["id"] for p in listed["data"]["projects"]]
        if (world.project_id in names) != (role != "outsider"):
            problems.append(f"projects as {role}: {names}")

    print(f"access matrix: {role} tried {len(OPS)} operations ({MATRIX_CASES} cases in all)")
    assert not problems, "\n".join(problems)

    after = await _state(gql, world)
    if role in ("outsider", "viewer", "anonymous"):
        assert after == before, "a refused caller changed the project"
    elif role == "member":
        assert after["project"]["members"] == before["project"]["members"]


async def test_outsider_sees_the_same_as_for_a_missing_project(
    world: World, gql: GraphQLClient
) -> None:
    """No existence oracle: an outsider cannot tell a hidden project or task from a missing one."""
    task = await world.create_task(unique("secret"))
    outsider = world.tokens["outsider"]
    missing = str(uuid.uuid4())
    queries = [
        "query($id: ID!) { project(id: $id) { id } }",
        "query($id: ID!) { tasks(projectId: $id) { totalCount } }",
        "query($id: ID!) { taskEvents(projectId: $id) { cursor } }",
    ]
    for query in queries:
        hidden = await gql.error(query, {"id": world.project_id}, token=outsider)
        absent = await gql.error(query, {"id": missing}, token=outsider)
        assert (hidden["message"], hidden["extensions"]) == (
            absent["message"],
            absent["extensions"],
        )
    task_queries = [
        "query($id: ID!) { task(id: $id) { id } }",
        "query($id: ID!) { usersInTask(taskId: $id) { id } }",
        "mutation($id: ID!) { updateTaskStatus(id: $id, status: COMPLETED) { id } }",
        "mutation($id: ID!) { deleteTask(id: $id) }",
    ]
    for query in task_queries:
        hidden = await gql.error(query, {"id": task["id"]}, token=outsider)
        absent = await gql.error(query, {"id": missing}, token=outsider)
        assert hidden["extensions"]["code"] == "NOT_FOUND"
        assert (hidden["message"], hidden["extensions"]) == (
            absent["message"],
            absent["extensions"],
        )


async def test_outsider_bulk_update_mixing_in_own_task_changes_nothing(
    world: World, gql: GraphQLClient
) -> None:
    theirs = await world.create_task(unique("secret"))
    outsider = world.tokens["outsider"]
    own_project = await gql.data(
        "mutation($n: String!) { createProject(name: $n) { id } }",
        {"n": unique("own")},
        token=outsider,
    )
    own = await gql.data(
        'mutation($p: ID!) { createTask(input: {projectId: $p, title: "mine"}) { id } }',
        {"p": own_project["createProject"]["id"]},
        token=outsider,
    )
    own_id = own["createTask"]["id"]

    body = await gql.post(
        "mutation($ids: [ID!]!) { bulkUpdateTaskStatus(ids: $ids, status: COMPLETED) { id } }",
        {"ids": [own_id, theirs["id"]]},
        token=outsider,
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN")

    mine = await gql.data(
        "query($id: ID!) { task(id: $id) { status version } }", {"id": own_id}, token=outsider
    )
    assert mine["task"] == {"status": "PENDING", "version": 1}, "a refused bulk change half-ran"
    other = await gql.data(
        "query($id: ID!) { task(id: $id) { status version } }",
        {"id": theirs["id"]},
        token=world.tokens["owner"],
    )
    assert other["task"] == {"status": "PENDING", "version": 1}


ADD = (
    "mutation($p: ID!, $u: ID!, $r: ProjectRole) "
    "{ addProjectMember(projectId: $p, userId: $u, role: $r) { role user { id } } }"
)
REMOVE = "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }"


async def test_last_owner_cannot_be_removed_or_demoted(world: World, gql: GraphQLClient) -> None:
    owner, member = world.tokens["owner"], world.tokens["member"]
    p, owner_id, member_id = world.project_id, world.ids["owner"], world.ids["member"]

    for role in ("MEMBER", "VIEWER"):
        error = await gql.error(ADD, {"p": p, "u": owner_id, "r": role}, token=owner)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "role"}
    error = await gql.error(REMOVE, {"p": p, "u": owner_id}, token=owner)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "userId"}
    # Re-adding the sole OWNER as OWNER is no demotion.
    same = await gql.data(ADD, {"p": p, "u": owner_id, "r": "OWNER"}, token=owner)
    assert same["addProjectMember"]["role"] == "OWNER"

    # With a second OWNER the first may step down; then the second is the last one.
    await gql.data(ADD, {"p": p, "u": member_id, "r": "OWNER"}, token=owner)
    demoted = await gql.data(ADD, {"p": p, "u": owner_id, "r": "MEMBER"}, token=member)
    assert demoted["addProjectMember"] == {"role": "MEMBER", "user": {"id": owner_id}}
    error = await gql.error(REMOVE, {"p": p, "u": member_id}, token=member)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "userId"}
    error = await gql.error(ADD, {"p": p, "u": member_id, "r": "VIEWER"}, token=member)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "role"}

    # The former OWNER, now a MEMBER, lost the right to manage members at once.
    error = await gql.error(REMOVE, {"p": p, "u": world.ids["viewer"]}, token=owner)
    assert error["extensions"]["code"] == "FORBIDDEN"

    members = await gql.data(
        "query($p: ID!) { project(id: $p) { members { role user { id } } } }",
        {"p": p},
        token=member,
    )
    roles = {m["user"]["id"]: m["role"] for m in members["project"]["members"]}
    assert roles == {owner_id: "MEMBER", member_id: "OWNER", world.ids["viewer"]: "VIEWER"}


async def test_removed_member_loses_access_at_once(world: World, gql: GraphQLClient) -> None:
    task = await world.create_task(unique("secret"))
    member, owner = world.tokens["member"], world.tokens["owner"]
    p = world.project_id
    reads = [
        ("query($p: ID!) { project(id: $p) { id } }", {"p": p}),
        ("query($p: ID!) { tasks(projectId: $p) { totalCount } }", {"p": p}),
        ("query($p: ID!) { taskEvents(projectId: $p) { cursor } }", {"p": p}),
        ("query($t: ID!) { task(id: $t) { id } }", {"t": task["id"]}),
        ("query($t: ID!) { usersInTask(taskId: $t) { id } }", {"t": task["id"]}),
    ]
    write = (
        "mutation($t: ID!) { updateTaskStatus(id: $t, status: IN_PROGRESS) { version } }",
        {"t": task["id"]},
    )
    for query, variables in [*reads, write]:
        await gql.data(query, variables, token=member)

    # Demoted to VIEWER: still reads, no longer writes.
    await gql.data(ADD, {"p": p, "u": world.ids["member"], "r": "VIEWER"}, token=owner)
    for query, variables in reads:
        await gql.data(query, variables, token=member)
    error = await gql.error(*write, token=member)
    assert error["extensions"]["code"] == "FORBIDDEN"

    # Removed: nothing at all, on the very next request.
    assert (await gql.data(REMOVE, {"p": p, "u": world.ids["member"]}, token=owner)) == {
        "removeProjectMember": True
    }
    for query, variables in [*reads, write]:
        body = await gql.post(query, variables, token=member)
        assert body["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN"), body
        assert not any((body.get("data") or {}).values()), body
    listed = await gql.data("{ projects { id } }", token=member)
    assert p not in [project["id"] for project in listed["projects"]]


async def test_without_a_valid_token_everything_is_unauthenticated(gql: GraphQLClient) -> None:
    queries = [
        "{ me { id } }",
        "{ projects { id } }",
        'mutation { createProject(name: "p") { id } }',
        "{ realtimeStats { connections } }",
    ]
    for query in queries:
        for bad in (None, "not-a-jwt"):
            error = await gql.error(query, token=bad)
            assert error["extensions"]["code"] == "UNAUTHENTICATED", (query, bad, error)
