"""Input validation, end to end: BAD_USER_INPUT naming the field, NOT_FOUND, CONFLICT, versions."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from tests.support.client import GraphQLClient, World, unique

CREATE = (
    "mutation($i: CreateTaskInput!) { createTask(input: $i) "
    "{ id title description status version assignee { id } } }"
)
UPDATE = (
    "mutation($id: ID!, $i: UpdateTaskInput!, $v: Int) "
    "{ updateTask(id: $id, input: $i, expectedVersion: $v) "
    "{ id title description status version assignee { id } } }"
)
STATUS = (
    "mutation($id: ID!, $s: TaskStatus!, $v: Int) "
    "{ updateTaskStatus(id: $id, status: $s, expectedVersion: $v) { id status version } }"
)
BULK = (
    "mutation($ids: [ID!]!, $s: TaskStatus!) "
    "{ bulkUpdateTaskStatus(ids: $ids, status: $s) { id status version } }"
)
EVENTS = (
    "query($p: ID!, $a: String, $f: Int) { taskEvents(projectId: $p, after: $a, first: $f) { "
    "__typename cursor taskId "
    "... on TaskCreatedEvent { task { version } } "
    "... on TaskUpdatedEvent { task { version status title } changedFields previousStatus } "
    "... on TaskDeletedEvent { deleted: task { version } } } }"
)
TASKS = (
    "query($p: ID!, $s: TaskStatus, $u: ID, $f: Int, $a: String) "
    "{ tasks(projectId: $p, status: $s, assigneeId: $u, first: $f, after: $a) "
    "{ totalCount edges { cursor node { id } } } }"
)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def bad_input(
    gql: GraphQLClient, query: str, variables: dict[str, Any], *, token: str, field: str
) -> dict[str, Any]:
    """The reply must be one BAD_USER_INPUT naming `field`, and no data."""
    body = await gql.post(query, variables, token=token)
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert error["extensions"].get("field") == field, body
    assert not any((body.get("data") or {}).values()), body
    return error


async def refused_on_create_and_update(
    gql: GraphQLClient, world: World, task_id: str, field: str, value: Any
) -> None:
    """`value` for `field` is one BAD_USER_INPUT naming `input.<field>`, and no data, both in
    createTask (on a new task titled "t") and in updateTask of `task_id`, for the owner."""
    owner = world.tokens["owner"]
    create = {"projectId": world.project_id, "title": "t", field: value}
    await bad_input(gql, CREATE, {"i": create}, token=owner, field=f"input.{field}")
    update = {"id": task_id, "i": {field: value}}
    await bad_input(gql, UPDATE, update, token=owner, field=f"input.{field}")


async def test_title_is_1_to_200_characters_after_trimming(
    world: World, gql: GraphQLClient
) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("original")
    bad_titles = {
        "empty": "",
        "only spaces": "   \t ",
        "201 characters": "x" * 201,
        "201 characters inside spaces": "  " + "y" * 201 + "  ",
        "a NUL character": "a\x00b",
    }
    for case, title in bad_titles.items():
        create = {"projectId": world.project_id, "title": title}
        error = await bad_input(gql, CREATE, {"i": create}, token=owner, field="input.title")
        assert error["path"] == ["createTask"], case
        await bad_input(
            gql, UPDATE, {"id": task["id"], "i": {"title": title}}, token=owner, field="input.title"
        )
    await bad_input(
        gql, UPDATE, {"id": task["id"], "i": {"title": None}}, token=owner, field="input.title"
    )

    longest = await world.create_task("  " + "z" * 200 + "\n ")
    assert longest["title"] == "z" * 200
    assert (await world.create_task(" a "))["title"] == "a"
    updated = await gql.data(
        UPDATE, {"id": task["id"], "i": {"title": "\t" + "w" * 200 + " "}}, token=owner
    )
    assert updated["updateTask"]["title"] == "w" * 200
    assert updated["updateTask"]["version"] == 2


async def test_description_is_at_most_10000_characters(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    created = await world.create_task("d", description="x" * 10_000)
    assert created["description"] == "x" * 10_000
    too_long = "x" * 10_001
    for description in (too_long, "nul\x00inside"):
        await refused_on_create_and_update(gql, world, created["id"], "description", description)
    cleared = await gql.data(UPDATE, {"id": created["id"], "i": {"description": None}}, token=owner)
    assert cleared["updateTask"]["description"] is None


async def test_text_that_is_not_valid_unicode_is_refused(world: World, gql: GraphQLClient) -> None:
    """A lone surrogate (legal in JSON, not storable as UTF-8) is a client error, not a 500."""
    for field in ("title", "description"):
        variables = {"projectId": world.project_id, "title": "ok", field: "a\\ud800b"}
        # json.dumps escapes the backslash; undo that so the server reads a lone surrogate.
        lone = json.dumps(variables).replace("\\\\ud800", "\\ud800")
        raw = f'{{"query": {json.dumps(CREATE)}, "variables": {{"i": {lone}}}}}'.encode()
        response = await gql.http.post(
            gql.url,
            content=raw,
            headers={
                "authorization": f"Bearer {world.tokens['owner']}",
                "content-type": "application/json",
            },
        )
        assert response.status_code == 200, response.text
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": f"input.{field}"}


async def test_malformed_ids_name_the_field(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("t")
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("query($x: ID!) { project(id: $x) { id } }", {}, "id"),
        ("query($x: ID!) { task(id: $x) { id } }", {}, "id"),
        ("query($x: ID!) { tasks(projectId: $x) { totalCount } }", {}, "projectId"),
        ("query($x: ID!) { taskEvents(projectId: $x) { cursor } }", {}, "projectId"),
        ("query($x: ID!) { usersInTask(taskId: $x) { id } }", {}, "taskId"),
        (
            'mutation($x: ID!) { createTask(input: {projectId: $x, title: "t"}) { id } }',
            {},
            "input.projectId",
        ),
        ('mutation($x: ID!) { updateTask(id: $x, input: {title: "t"}) { id } }', {}, "id"),
        ("mutation($x: ID!) { updateTaskStatus(id: $x, status: COMPLETED) { id } }", {}, "id"),
        (
            "mutation($x: ID!, $t: ID!) "
            "{ bulkUpdateTaskStatus(ids: [$t, $x], status: COMPLETED) { id } }",
            {"t": task["id"]},
            "ids",
        ),
        ("mutation($x: ID!) { deleteTask(id: $x) }", {}, "id"),
        (
            "mutation($x: ID!, $u: ID!) { addProjectMember(projectId: $x, userId: $u) { role } }",
            {"u": world.ids["outsider"]},
            "projectId",
        ),
        (
            "mutation($x: ID!, $u: ID!) { removeProjectMember(projectId: $x, userId: $u) }",
            {"u": world.ids["viewer"]},
            "projectId",
        ),
    ]
    for query, extra, field in cases:
        for malformed in ("not-a-uuid", "", "1234", task["id"] + "0", "' OR 1=1 --"):
            await bad_input(gql, query, {"x": malformed, **extra}, token=owner, field=field)
    unchanged = await gql.data(
        "query($t: ID!) { task(id: $t) { status version } }", {"t": task["id"]}, token=owner
    )
    assert unchanged["task"] == {"status": "PENDING", "version": 1}


async def test_unknown_users_are_bad_input(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("t")
    nobody = unique("nobody")
    not_a_member = world.ids["outsider"]
    for assignee in (nobody, not_a_member, "", "x" * 256, "a\x00b"):
        await refused_on_create_and_update(gql, world, task["id"], "assigneeId", assignee)
    add = "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u) { role } }"
    for user in (nobody, "", "x" * 256, "a\x00b"):
        await bad_input(gql, add, {"p": world.project_id, "u": user}, token=owner, field="userId")
    for user in ("", "a\x00b"):
        await bad_input(
            gql, TASKS, {"p": world.project_id, "u": user}, token=owner, field="assigneeId"
        )
    # Removing someone who is not a member is answered `false`, and changes nothing.
    removed = await gql.data(
        "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }",
        {"p": world.project_id, "u": nobody},
        token=owner,
    )
    assert removed == {"removeProjectMember": False}
    assigned = await gql.data(
        UPDATE, {"id": task["id"], "i": {"assigneeId": world.ids["viewer"]}}, token=owner
    )
    assert assigned["updateTask"]["assignee"] == {"id": world.ids["viewer"]}
    assert assigned["updateTask"]["version"] == 2


async def test_bad_cursors_name_the_field(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    tasks = [await world.create_task(f"t{i}") for i in range(3)]
    other = await gql.data('mutation { createProject(name: "other") { id } }', token=owner)
    other_id = other["createProject"]["id"]
    page = await gql.data(TASKS, {"p": world.project_id, "f": 1}, token=owner)
    task_cursor = page["tasks"]["edges"][0]["cursor"]
    events = await gql.data(EVENTS, {"p": world.project_id}, token=owner)
    event_cursor = events["taskEvents"][0]["cursor"]
    assert len(events["taskEvents"]) == 3

    # Each works where it belongs.
    after_first = await gql.data(TASKS, {"p": world.project_id, "a": task_cursor}, token=owner)
    assert [e["node"]["id"] for e in after_first["tasks"]["edges"]] == [t["id"] for t in tasks[1:]]
    after_event = await gql.data(EVENTS, {"p": world.project_id, "a": event_cursor}, token=owner)
    assert len(after_event["taskEvents"]) == 2

    garbage = [
        "garbage!!",
        "",
        "%%%%",
        "x" * 500,
        _cursor("t|not-a-date|" + tasks[0]["id"]),
        _cursor("t|2024-01-01T00:00:00|" + tasks[0]["id"]),  # no time zone
        _cursor("t|0001-01-01T00:00:00+14:00|" + tasks[0]["id"]),  # before year 1 in UTC
        _cursor("t|2024-01-01T00:00:00+00:00|not-a-uuid"),
        _cursor(f"e|{world.project_id}|²"),  # a digit to str.isdigit, not to int()
        _cursor(f"e|{world.project_id}|-1"),
        _cursor(f"e|{world.project_id}|{2**63}"),  # past BIGINT
        _cursor(f"e|{world.project_id}|{10**50}"),
    ]
    project_tasks = (
        "query($p: ID!, $a: String) { project(id: $p) { tasks(after: $a) { totalCount } } }"
    )
    for cursor in garbage:
        for query in (TASKS, EVENTS, project_tasks):
            await bad_input(
                gql, query, {"p": world.project_id, "a": cursor}, token=owner, field="after"
            )
    # A cursor of the other kind, and an event cursor of another project.
    await bad_input(
        gql, TASKS, {"p": world.project_id, "a": event_cursor}, token=owner, field="after"
    )
    await bad_input(
        gql, EVENTS, {"p": world.project_id, "a": task_cursor}, token=owner, field="after"
    )
    await bad_input(gql, EVENTS, {"p": other_id, "a": event_cursor}, token=owner, field="after")


async def test_first_is_0_to_100(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    await world.create_task("t")
    project_tasks = (
        "query($p: ID!, $f: Int) { project(id: $p) { tasks(first: $f) { totalCount } } }"
    )
    for query in (TASKS, EVENTS, project_tasks):
        for first in (101, -1, 1000):
            await bad_input(
                gql, query, {"p": world.project_id, "f": first}, token=owner, field="first"
            )
        # Beyond a 32-bit Int the value never reaches the resolver: the variable is refused.
        await bad_input(gql, query, {"p": world.project_id, "f": 2**31}, token=owner, field="f")
        for first in (0, 100):
            await gql.data(query, {"p": world.project_id, "f": first}, token=owner)
    literal = "query($p: ID!) { tasks(projectId: $p, first: 101) { totalCount } }"
    await bad_input(gql, literal, {"p": world.project_id}, token=owner, field="first")
    none = await gql.data(TASKS, {"p": world.project_id, "f": 0}, token=owner)
    assert none["tasks"]["edges"] == [] and none["tasks"]["totalCount"] == 1


async def test_malformed_enums_as_literals_and_variables(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("t")
    p, t = world.project_id, task["id"]
    literals = [
        ("query($p: ID!) { tasks(projectId: $p, status: FOO) { totalCount } }", "status"),
        ('query($p: ID!) { tasks(projectId: $p, status: "PENDING") { totalCount } }', "status"),
        ("query($p: ID!) { project(id: $p) { tasks(status: FOO) { totalCount } } }", "status"),
        ("mutation($t: ID!) { updateTaskStatus(id: $t, status: FOO) { id } }", "status"),
        ("mutation($t: ID!) { updateTaskStatus(id: $t, status: pending) { id } }", "status"),
        ("mutation($t: ID!) { bulkUpdateTaskStatus(ids: [$t], status: FOO) { id } }", "status"),
        (
            'mutation($p: ID!) { createTask(input: {projectId: $p, title: "t", status: FOO}) '
            "{ id } }",
            "input.status",
        ),
        ("mutation($t: ID!) { updateTask(id: $t, input: {status: FOO}) { id } }", "input.status"),
        (
            "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: KING) "
            "{ role } }",
            "role",
        ),
    ]
    for query, field in literals:
        await bad_input(
            gql, query, {"p": p, "t": t, "u": world.ids["outsider"]}, token=owner, field=field
        )

    variables: list[tuple[str, dict[str, Any], str]] = [
        (TASKS, {"p": p, "s": "FOO"}, "s"),
        (STATUS, {"id": t, "s": "FOO"}, "s"),
        (STATUS, {"id": t, "s": "pending"}, "s"),
        (STATUS, {"id": t, "s": 1}, "s"),
        (BULK, {"ids": [t], "s": "FOO"}, "s"),
        (CREATE, {"i": {"projectId": p, "title": "t", "status": "FOO"}}, "i.status"),
        (UPDATE, {"id": t, "i": {"status": "FOO"}}, "i.status"),
        (
            "mutation($p: ID!, $u: ID!, $r: ProjectRole) "
            "{ addProjectMember(projectId: $p, userId: $u, role: $r) { role } }",
            {"p": p, "u": world.ids["outsider"], "r": "KING"},
            "r",
        ),
        # Other malformed variables are named the same way.
        (CREATE, {"i": {"projectId": p}}, "i.title"),
        (CREATE, {"i": {"projectId": p, "title": "t", "colour": "red"}}, "i.colour"),
        (BULK, {"ids": [t, None], "s": "COMPLETED"}, "ids[1]"),
        (STATUS, {"id": t}, "s"),
    ]
    for query, values, field in variables:
        await bad_input(gql, query, values, token=owner, field=field)

    unchanged = await gql.data(
        "query($t: ID!) { task(id: $t) { status version } }", {"t": t}, token=owner
    )
    assert unchanged["task"] == {"status": "PENDING", "version": 1}


async def test_bulk_update_takes_1_to_100_ids(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("t")
    for ids in ([], [task["id"]] * 101, [str(uuid.uuid4()) for _ in range(101)]):
        await bad_input(gql, BULK, {"ids": ids, "s": "COMPLETED"}, token=owner, field="ids")
    # The same id twice is one change.
    done = await gql.data(BULK, {"ids": [task["id"]] * 2, "s": "COMPLETED"}, token=owner)
    assert (
        done["bulkUpdateTaskStatus"]
        == [{"id": task["id"], "status": "COMPLETED", "version": 2}] * 2
    )


async def test_unknown_well_formed_ids_are_not_found(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("t")
    missing = str(uuid.uuid4())
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("query($x: ID!) { project(id: $x) { id } }", {"x": missing}, "id"),
        ("query($x: ID!) { task(id: $x) { id } }", {"x": missing}, "id"),
        ("query($x: ID!) { tasks(projectId: $x) { totalCount } }", {"x": missing}, "projectId"),
        ("query($x: ID!) { taskEvents(projectId: $x) { cursor } }", {"x": missing}, "projectId"),
        ("query($x: ID!) { usersInTask(taskId: $x) { id } }", {"x": missing}, "taskId"),
        (
            'mutation($x: ID!) { createTask(input: {projectId: $x, title: "t"}) { id } }',
            {"x": missing},
            "input.projectId",
        ),
        (
            'mutation($x: ID!) { updateTask(id: $x, input: {title: "t"}) { id } }',
            {"x": missing},
            "id",
        ),
        (STATUS, {"id": missing, "s": "COMPLETED"}, "id"),
        (STATUS, {"id": missing, "s": "COMPLETED", "v": 1}, "id"),
        (BULK, {"ids": [task["id"], missing], "s": "COMPLETED"}, "ids"),
        ("mutation($x: ID!) { deleteTask(id: $x) }", {"x": missing}, "id"),
        (
            'mutation($x: ID!) { addProjectMember(projectId: $x, userId: "u") { role } }',
            {"x": missing},
            "projectId",
        ),
    ]
    for query, variables, field in cases:
        body = await gql.post(query, variables, token=owner)
        assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": field}, body
        assert not any((body.get("data") or {}).values()), body
    # The known task in the refused bulk change was left alone.
    unchanged = await gql.data(
        "query($t: ID!) { task(id: $t) { status version } }", {"t": task["id"]}, token=owner
    )
    assert unchanged["task"] == {"status": "PENDING", "version": 1}


async def test_stale_expected_version_is_a_conflict(world: World, gql: GraphQLClient) -> None:
    member = world.tokens["member"]
    task = await world.create_task("t")
    t = task["id"]
    moved = await gql.data(STATUS, {"id": t, "s": "IN_PROGRESS", "v": 1}, token=member)
    assert moved["updateTaskStatus"]["version"] == 2
    renamed = await gql.data(UPDATE, {"id": t, "i": {"title": "u"}, "v": 2}, token=member)
    assert renamed["updateTask"]["version"] == 3

    for stale in (1, 2, 4, 0, -1):
        error = await gql.error(STATUS, {"id": t, "s": "COMPLETED", "v": stale}, token=member)
        assert error["extensions"] == {"code": "CONFLICT", "currentVersion": 3}
        error = await gql.error(UPDATE, {"id": t, "i": {"title": "v"}, "v": stale}, token=member)
        assert error["extensions"] == {"code": "CONFLICT", "currentVersion": 3}
        # Even a change that would change nothing is refused against a stale version.
        error = await gql.error(UPDATE, {"id": t, "i": {}, "v": stale}, token=member)
        assert error["extensions"] == {"code": "CONFLICT", "currentVersion": 3}

    now = await gql.data(
        "query($t: ID!) { task(id: $t) { title status version } }", {"t": t}, token=member
    )
    assert now["task"] == {"title": "u", "status": "IN_PROGRESS", "version": 3}


async def test_every_change_increments_the_version(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    task = await world.create_task("first")
    t = task["id"]
    assert task["version"] == 1

    steps = [
        (UPDATE, {"id": t, "i": {"title": "second"}}, "updateTask", 2),
        (STATUS, {"id": t, "s": "IN_PROGRESS"}, "updateTaskStatus", 3),
        (BULK, {"ids": [t], "s": "COMPLETED"}, "bulkUpdateTaskStatus", 4),
        (
            UPDATE,
            {"id": t, "i": {"description": "d", "assigneeId": world.ids["member"]}},
            "updateTask",
            5,
        ),
        # No actual change: the same title (once trimmed), status, description and assignee.
        (UPDATE, {"id": t, "i": {}}, "updateTask", 5),
        (UPDATE, {"id": t, "i": {"title": "  second "}}, "updateTask", 5),
        (
            UPDATE,
            {
                "id": t,
                "i": {"status": "COMPLETED", "description": "d", "assigneeId": world.ids["member"]},
            },
            "updateTask",
            5,
        ),
        (STATUS, {"id": t, "s": "COMPLETED", "v": 5}, "updateTaskStatus", 5),
        (BULK, {"ids": [t], "s": "COMPLETED"}, "bulkUpdateTaskStatus", 5),
        (UPDATE, {"id": t, "i": {"assigneeId": None}}, "updateTask", 6),
    ]
    for query, variables, name, version in steps:
        data = await gql.data(query, variables, token=owner)
        result = data[name][0] if isinstance(data[name], list) else data[name]
        assert result["version"] == version, (name, variables, result)

    deleted = await gql.data("mutation($t: ID!) { deleteTask(id: $t) }", {"t": t}, token=owner)
    assert deleted == {"deleteTask": t}

    events = (await gql.data(EVENTS, {"p": world.project_id}, token=owner))["taskEvents"]
    versions = [(e.get("task") or e["deleted"])["version"] for e in events]
    assert list(zip([e["__typename"] for e in events], versions, strict=True)) == [
        ("TaskCreatedEvent", 1),
        ("TaskUpdatedEvent", 2),
        ("TaskUpdatedEvent", 3),
        ("TaskUpdatedEvent", 4),
        ("TaskUpdatedEvent", 5),
        ("TaskUpdatedEvent", 6),
        ("TaskDeletedEvent", 7),
    ]
    assert [e.get("changedFields") for e in events[1:6]] == [
        ["title"],
        ["status"],
        ["status"],
        ["description", "assignee"],
        ["assignee"],
    ]
    assert [e["previousStatus"] for e in events[1:6]] == [
        "PENDING",
        "PENDING",
        "IN_PROGRESS",
        "COMPLETED",
        "COMPLETED",
    ]
    assert all(e["taskId"] == t for e in events)
    gone = await gql.post("query($t: ID!) { task(id: $t) { id } }", {"t": t}, token=owner)
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_tasks_filter_by_status_and_assignee(world: World, gql: GraphQLClient) -> None:
    owner = world.tokens["owner"]
    member, viewer = world.ids["member"], world.ids["viewer"]
    specs = [
        ("PENDING", member),
        ("PENDING", viewer),
        ("IN_PROGRESS", member),
        ("COMPLETED", member),
        ("COMPLETED", None),
        ("CANCELLED", viewer),
    ]
    created = []
    for i, (spec_status, spec_assignee) in enumerate(specs):
        fields: dict[str, Any] = {"status": spec_status}
        if spec_assignee:
            fields["assigneeId"] = spec_assignee
        created.append((await world.create_task(f"f{i}", **fields))["id"])

    def expected(status: str | None, assignee: str | None) -> list[str]:
        return [
            task_id
            for task_id, (s, a) in zip(created, specs, strict=True)
            if (status is None or s == status) and (assignee is None or a == assignee)
        ]

    for status in (None, "PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED"):
        for assignee in (None, member, viewer, world.ids["owner"]):
            data = await gql.data(
                TASKS, {"p": world.project_id, "s": status, "u": assignee}, token=owner
            )
            want = expected(status, assignee)
            assert [e["node"]["id"] for e in data["tasks"]["edges"]] == want, (status, assignee)
            assert data["tasks"]["totalCount"] == len(want)

    # Paging keeps the filter: two at a time through the member's tasks.
    seen: list[str] = []
    after = None
    while True:
        data = await gql.data(
            TASKS, {"p": world.project_id, "u": member, "f": 2, "a": after}, token=owner
        )
        edges = data["tasks"]["edges"]
        assert data["tasks"]["totalCount"] == 3
        seen += [e["node"]["id"] for e in edges]
        if len(edges) < 2:
            break
        after = edges[-1]["cursor"]
    assert seen == expected(None, member)

    nested = await gql.data(
        "query($p: ID!) { project(id: $p) { tasks(status: COMPLETED) "
        "{ totalCount edges { node { id } } } } }",
        {"p": world.project_id},
        token=owner,
    )
    assert [e["node"]["id"] for e in nested["project"]["tasks"]["edges"]] == expected(
        "COMPLETED", None
    )
