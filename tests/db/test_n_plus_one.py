"""A page of tasks with its project, assignee and creator costs a constant number of statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from db.models import ProjectRole, TaskStatus
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.session import Database
from graph.auth.tokens import Principal, TokenVerifier
from graph.context import Context, Services
from graph.realtime.hub import RealtimeHub
from graph.schema.root import build_schema
from graph.settings import Settings

PAGE_QUERY = """
query Page($p: ID!, $n: Int!) {
  tasks(projectId: $p, first: $n) {
    totalCount
    edges { node { id title project { name } assignee { name } createdBy { name } } }
  }
}
"""
USERS = [f"user-{i}" for i in range(12)]


async def _seed(db: Database, *, tasks: int) -> str:
    """A project whose tasks are spread over many assignees and creators."""
    async with db.write() as session:
        for user_id in USERS:
            await user_repo.upsert(session, user_id=user_id, name=user_id.title(), email=None)
        project = await project_repo.create(session, name=f"{tasks} tasks", owner_id=USERS[0])
        for user_id in USERS[1:]:
            await project_repo.set_member(
                session, project_id=project.id, user_id=user_id, role=ProjectRole.MEMBER
            )
        for i in range(tasks):
            await task_repo.create(
                session,
                project_id=project.id,
                title=f"task {i}",
                description=None,
                status=TaskStatus.PENDING,
                assignee_id=None if i % 5 == 0 else USERS[i % len(USERS)],
                created_by_id=USERS[(i * 7) % len(USERS)],
            )
        return project.id


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _statements_for_page(db: Database, *, project_id: str, size: int) -> list[str]:
    settings = Settings(tasklive_env="test")
    services = Services(
        settings=settings,
        db=db,
        verifier=TokenVerifier(settings),
        realtime=RealtimeHub(settings, db),
    )
    principal = Principal(user_id=USERS[3], name=None, email=None, is_admin=False, expires_at=None)
    context = Context(
        services=services, request=None, response=None, request_id="n-plus-one", principal=principal
    )
    schema = build_schema(settings)
    with counted_statements(db) as statements:
        result = await schema.execute(
            PAGE_QUERY, variable_values={"p": project_id, "n": size}, context_value=context
        )
    assert result.errors is None, result.errors
    assert result.data is not None
    edges = result.data["tasks"]["edges"]
    assert len(edges) == size
    assert {e["node"]["project"]["name"] for e in edges} == {f"{size} tasks"}
    assert all(e["node"]["createdBy"]["name"] for e in edges)
    assert any(e["node"]["assignee"] is None for e in edges)
    return statements


async def test_a_page_of_tasks_costs_a_constant_number_of_statements(db: Database) -> None:
    small = await _seed(db, tasks=10)
    large = await _seed(db, tasks=100)
    await db.ping()  # the engine's first-connect queries are not the page's

    for_10 = await _statements_for_page(db, project_id=small, size=10)
    for_100 = await _statements_for_page(db, project_id=large, size=100)

    assert len(for_10) == len(for_100), (for_10, for_100)
    # role, page, count, projects, users (plus the transaction starts on SQLite)
    assert len(for_100) <= 10, for_100
