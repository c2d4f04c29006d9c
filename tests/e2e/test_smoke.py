"""The basic path a user takes: list projects, page through tasks, change one."""

from __future__ import annotations

from tests.support.client import GraphQLClient, World


async def test_create_update_and_page_tasks(world: World, gql: GraphQLClient) -> None:
    created = [await world.create_task(f"task {i}") for i in range(5)]
    assert all(t["version"] == 1 for t in created)

    seen: list[str] = []
    after = None
    while True:
        data = await gql.data(
            "query($p: ID!, $a: String) { tasks(projectId: $p, first: 2, after: $a) "
            "{ totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }",
            {"p": world.project_id, "a": after},
            token=world.tokens["viewer"],
        )
        page = data["tasks"]
        assert page["totalCount"] == 5
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [t["id"] for t in created]

    task_id = created[0]["id"]
    data = await gql.data(
        "mutation($id: ID!) { updateTaskStatus(id: $id, status: IN_PROGRESS, expectedVersion: 1) "
        "{ status version } }",
        {"id": task_id},
        token=world.tokens["member"],
    )
    assert data["updateTaskStatus"] == {"status": "IN_PROGRESS", "version": 2}

    error = await gql.error(
        "mutation($id: ID!) { updateTaskStatus(id: $id, status: COMPLETED, expectedVersion: 1) "
        "{ version } }",
        {"id": task_id},
        token=world.tokens["member"],
    )
    assert error["extensions"] == {"code": "CONFLICT", "currentVersion": 2}
