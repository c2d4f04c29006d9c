"""A small GraphQL-over-HTTP client and token helpers for the tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from graph.auth.tokens import mint_token
from graph.settings import Settings
from tests.support.polling import eventually
from tests.support.servers import TEST_SECRET

_SETTINGS = Settings(jwt_secret=TEST_SECRET, tasklive_env="test")


def token(
    sub: str,
    *,
    name: str | None = None,
    email: str | None = None,
    admin: bool = False,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    return mint_token(_SETTINGS, sub=sub, name=name, email=email, admin=admin, ttl=ttl)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class GraphQLClient:
    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            self.url, json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The `data` of a reply that must have no errors."""
        body = await self.post(query, variables, token=token)
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The first error of a reply that must have one."""
        body = await self.post(query, variables, token=token)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error


class World:
    """A project of fresh users (owner, member, viewer, outsider) on a running server."""

    def __init__(self, client: GraphQLClient) -> None:
        self.client = client
        self.ids = {role: unique(role) for role in ("owner", "member", "viewer", "outsider")}
        self.tokens = {role: token(uid, name=role.title()) for role, uid in self.ids.items()}
        self.project_id = ""

    async def setup(self) -> World:
        for role in self.ids:
            await self.client.data("{ me { id } }", token=self.tokens[role])
        data = await self.client.data(
            "mutation($n: String!) { createProject(name: $n) { id } }",
            {"n": unique("project")},
            token=self.tokens["owner"],
        )
        self.project_id = data["createProject"]["id"]
        for role in ("member", "viewer"):
            await self.client.data(
                "mutation($p: ID!, $u: ID!, $r: ProjectRole) "
                "{ addProjectMember(projectId: $p, userId: $u, role: $r) { role } }",
                {"p": self.project_id, "u": self.ids[role], "r": role.upper()},
                token=self.tokens["owner"],
            )
        return self

    async def create_task(
        self, title: str = "a task", *, role: str = "owner", **fields: Any
    ) -> dict[str, Any]:
        data = await self.client.data(
            "mutation($i: CreateTaskInput!) { createTask(input: $i) "
            "{ id title status version description assignee { id } } }",
            {"i": {"projectId": self.project_id, "title": title, **fields}},
            token=self.tokens[role],
        )
        task: dict[str, Any] = data["createTask"]
        return task

    async def wait_for_viewers(self, task_id: str, count: int = 1) -> None:
        """Until `usersInTask` lists `count` users: subscriptions join their room
        asynchronously, so a test waits for that before it makes the change it expects."""

        async def joined() -> bool:
            data = await self.client.data(
                "query($t: ID!) { usersInTask(taskId: $t) { id } }",
                {"t": task_id},
                token=self.tokens["owner"],
            )
            return len(data["usersInTask"]) >= count

        await eventually(
            joined, timeout=5, interval=0.025, what=f"{count} viewer(s) of task {task_id}"
        )

    async def wait_for_project_viewers(self, count: int) -> None:
        """Until the project's `viewers` lists `count` users (bounded to 10 s)."""

        async def joined() -> bool:
            data = await self.client.data(
                "query($p: ID!) { project(id: $p) { viewers { id } } }",
                {"p": self.project_id},
                token=self.tokens["owner"],
            )
            return len(data["project"]["viewers"]) >= count

        await eventually(
            joined, timeout=10, interval=0.025, what=f"{count} viewer(s) of the project"
        )
