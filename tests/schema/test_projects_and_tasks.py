"""Resolvers through `schema.execute`: projects, pages of tasks, a mutation and its event row,
and NOT_FOUND for outsiders."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import select

from db.models import EventType, TaskEvent, TaskStatus
from graph.context import Services
from tests.schema.conftest import Execute
from tests.support.factories import Team, make_task

PROJECTS = "{ projects { id name members { role user { id } } } }"
PAGE = (
    "query($p: ID!, $first: Int, $after: String, $status: TaskStatus) {"
    " tasks(projectId: $p, first: $first, after: $after, status: $status) {"
    " totalCount pageInfo { hasNextPage endCursor } edges { node { title status } } } }"
)
CREATE = (
    "mutation($i: CreateTaskInput!) { createTask(input: $i) { id title status version"
    " createdBy { id } project { id } } }"
)


def data(result: strawberry.types.ExecutionResult) -> dict[str, Any]:
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def codes(result: strawberry.types.ExecutionResult) -> list[Any]:
    assert result.errors, result
    return [e.extensions.get("code") if e.extensions else None for e in result.errors]


async def test_projects_lists_the_callers_projects_and_their_members(
    execute: Execute, team: Team
) -> None:
    got = data(await execute(PROJECTS, as_user=team.ids["viewer"]))["projects"]
    assert [p["id"] for p in got] == [team.project_id]
    roles = {m["user"]["id"]: m["role"] for m in got[0]["members"]}
    assert roles == {
        team.ids["owner"]: "OWNER",
        team.ids["member"]: "MEMBER",
        team.ids["viewer"]: "VIEWER",
    }
    assert data(await execute(PROJECTS, as_user=team.ids["outsider"])) == {"projects": []}


async def test_anonymous_callers_are_unauthenticated(execute: Execute) -> None:
    assert codes(await execute(PROJECTS)) == ["UNAUTHENTICATED"]


async def test_tasks_come_in_pages_that_follow_their_cursor(
    execute: Execute, services: Services, team: Team
) -> None:
    for n in range(5):
        await make_task(
            services.db, project_id=team.project_id, created_by=team.owner, title=f"t{n}"
        )
    variables: dict[str, Any] = {"p": team.project_id, "first": 2}
    titles: list[str] = []
    while True:
        page = data(await execute(PAGE, variables, as_user=team.ids["member"]))["tasks"]
        assert page["totalCount"] == 5
        titles += [e["node"]["title"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    assert sorted(titles) == [f"t{n}" for n in range(5)] and len(titles) == 5


async def test_tasks_filter_by_status(execute: Execute, services: Services, team: Team) -> None:
    await make_task(services.db, project_id=team.project_id, created_by=team.owner, title="open")
    await make_task(
        services.db,
        project_id=team.project_id,
        created_by=team.owner,
        title="done",
        status=TaskStatus.COMPLETED,
    )
    variables = {"p": team.project_id, "status": "COMPLETED"}
    page = data(await execute(PAGE, variables, as_user=team.owner))["tasks"]
    assert page["totalCount"] == 1
    assert page["edges"] == [{"node": {"title": "done", "status": "COMPLETED"}}]


async def test_a_page_size_past_the_maximum_is_bad_user_input(execute: Execute, team: Team) -> None:
    result = await execute(PAGE, {"p": team.project_id, "first": 101}, as_user=team.owner)
    assert codes(result) == ["BAD_USER_INPUT"]
    assert result.errors is not None and result.errors[0].extensions is not None
    assert result.errors[0].extensions["field"] == "first"


async def test_create_task_commits_the_task_and_its_event_and_publishes_it(
    execute: Execute, services: Services, team: Team
) -> None:
    variables = {"i": {"projectId": team.project_id, "title": "  Write the tests  "}}
    task = data(await execute(CREATE, variables, as_user=team.ids["member"]))["createTask"]
    assert task["title"] == "Write the tests"
    assert (task["status"], task["version"]) == ("PENDING", 1)
    assert task["createdBy"] == {"id": team.ids["member"]}
    assert task["project"] == {"id": team.project_id}
    async with services.db.read() as session:
        events = list(
            await session.scalars(
                select(TaskEvent)
                .where(TaskEvent.project_id == team.project_id)
                .order_by(TaskEvent.seq)
            )
        )
    # The team's two MEMBER_ADDED events, then the task's.
    assert [e.type for e in events] == [
        EventType.MEMBER_ADDED,
        EventType.MEMBER_ADDED,
        EventType.CREATED,
    ]
    created = events[-1]
    assert (created.seq, created.task_id, created.actor_id) == (3, task["id"], team.ids["member"])
    assert created.task_state is not None and created.task_state["title"] == "Write the tests"
    assert services.realtime.metrics.events_published == 1


async def test_a_viewer_may_not_create_tasks(execute: Execute, team: Team) -> None:
    variables = {"i": {"projectId": team.project_id, "title": "nope"}}
    assert codes(await execute(CREATE, variables, as_user=team.ids["viewer"])) == ["FORBIDDEN"]


async def test_a_bad_title_is_refused_before_anything_is_written(
    execute: Execute, services: Services, team: Team
) -> None:
    variables = {"i": {"projectId": team.project_id, "title": "   "}}
    result = await execute(CREATE, variables, as_user=team.owner)
    assert codes(result) == ["BAD_USER_INPUT"]
    assert result.errors is not None and result.errors[0].extensions is not None
    assert result.errors[0].extensions["field"] == "input.title"
    assert services.realtime.metrics.events_published == 0


async def test_outsiders_get_not_found_as_for_a_project_that_does_not_exist(
    execute: Execute, services: Services, team: Team
) -> None:
    task, _ = await make_task(services.db, project_id=team.project_id, created_by=team.owner)
    outsider = team.ids["outsider"]
    project = "query($p: ID!) { project(id: $p) { id } }"
    assert codes(await execute(project, {"p": team.project_id}, as_user=outsider)) == ["NOT_FOUND"]
    assert codes(await execute(PAGE, {"p": team.project_id}, as_user=outsider)) == ["NOT_FOUND"]
    assert codes(
        await execute("query($t: ID!) { task(id: $t) { id } }", {"t": task.id}, as_user=outsider)
    ) == ["NOT_FOUND"]
    create = {"i": {"projectId": team.project_id, "title": "sneaky"}}
    assert codes(await execute(CREATE, create, as_user=outsider)) == ["NOT_FOUND"]
    missing = "00000000-0000-0000-0000-000000000000"
    assert codes(await execute(PAGE, {"p": missing}, as_user=outsider)) == ["NOT_FOUND"]


async def test_an_admin_sees_every_project_without_being_a_member(
    execute: Execute, team: Team
) -> None:
    got = data(await execute(PROJECTS, as_user="root", admin=True))["projects"]
    assert [p["id"] for p in got] == [team.project_id]
    project = "query($p: ID!) { project(id: $p) { id } }"
    assert data(await execute(project, {"p": team.project_id}, as_user="root", admin=True)) == {
        "project": {"id": team.project_id}
    }


UPDATE = (
    "mutation($id: ID!, $i: UpdateTaskInput!, $v: Int) {"
    " updateTask(id: $id, input: $i, expectedVersion: $v) { title version } }"
)
EVENTS = (
    "query($p: ID!, $after: String, $first: Int) { taskEvents(projectId: $p, after: $after,"
    " first: $first) { __typename cursor taskId"
    " ... on TaskUpdatedEvent { changedFields task { version } } } }"
)


async def test_update_task_bumps_the_version_and_refuses_a_stale_one(
    execute: Execute, services: Services, team: Team
) -> None:
    task, _ = await make_task(services.db, project_id=team.project_id, created_by=team.owner)
    rename = {"id": task.id, "i": {"title": "renamed"}, "v": 1}
    updated = data(await execute(UPDATE, rename, as_user=team.ids["member"]))["updateTask"]
    assert updated == {"title": "renamed", "version": 2}
    stale = await execute(UPDATE, {**rename, "i": {"title": "again"}}, as_user=team.owner)
    assert codes(stale) == ["CONFLICT"]
    assert stale.errors is not None and stale.errors[0].extensions is not None
    assert stale.errors[0].extensions["currentVersion"] == 2


async def test_task_events_resume_after_a_cursor_and_skip_membership_changes(
    execute: Execute, services: Services, team: Team
) -> None:
    task, _ = await make_task(services.db, project_id=team.project_id, created_by=team.owner)
    for title in ("one", "two"):
        change = {"id": task.id, "i": {"title": title}}
        data(await execute(UPDATE, change, as_user=team.owner))
    variables: dict[str, Any] = {"p": team.project_id}
    events = data(await execute(EVENTS, variables, as_user=team.ids["viewer"]))["taskEvents"]
    # Seqs 1 and 2 are the team's MEMBER_ADDED: not task events, and no gap to the client.
    assert [e["__typename"] for e in events] == [
        "TaskCreatedEvent",
        "TaskUpdatedEvent",
        "TaskUpdatedEvent",
    ]
    assert [e["task"]["version"] for e in events[1:]] == [2, 3]
    assert events[1]["changedFields"] == ["title"]
    rest = {**variables, "after": events[1]["cursor"]}
    later = data(await execute(EVENTS, rest, as_user=team.ids["viewer"]))["taskEvents"]
    assert [e["cursor"] for e in later] == [events[2]["cursor"]]
    foreign = await execute(EVENTS, rest, as_user=team.ids["outsider"])
    assert codes(foreign) == ["NOT_FOUND"]
