"""The demo data set: one project, alice (OWNER), bob (MEMBER), carol (VIEWER), a few tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.models import EventType, ProjectRole, TaskStatus
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.session import Database
from graph.auth.tokens import mint_token
from graph.ops.maintenance import prepare_database
from graph.settings import Settings

DEMO_USERS = (
    ("alice", "Alice", ProjectRole.OWNER),
    ("bob", "Bob", ProjectRole.MEMBER),
    ("carol", "Carol", ProjectRole.VIEWER),
)
DEMO_TASKS = (
    ("Write docs", TaskStatus.PENDING, "bob"),
    ("Fix login bug", TaskStatus.IN_PROGRESS, "alice"),
    ("Plan the release", TaskStatus.PENDING, None),
    ("Ship v1", TaskStatus.COMPLETED, "alice"),
)


@dataclass
class Demo:
    project_id: str
    project_name: str
    users: list[tuple[str, str, str]]  # (user id, role, token)


async def create_demo(settings: Settings, *, ttl: timedelta) -> Demo:
    db = Database.from_url(settings.database_url)
    try:
        await prepare_database(settings, db)
        async with db.write() as session:
            for user_id, name, _ in DEMO_USERS:
                await user_repo.upsert(
                    session, user_id=user_id, name=name, email=f"{user_id}@example.com"
                )
            project = await project_repo.create(session, name="Demo project", owner_id="alice")
            for user_id, _, role in DEMO_USERS[1:]:
                await project_repo.set_member(
                    session, project_id=project.id, user_id=user_id, role=role
                )
            for title, status, assignee in DEMO_TASKS:
                task = await task_repo.create(
                    session,
                    project_id=project.id,
                    title=title,
                    description=None,
                    status=status,
                    assignee_id=assignee,
                    created_by_id="alice",
                )
                await event_repo.append(
                    session, task=task, type=EventType.CREATED, actor_id="alice"
                )
    finally:
        await db.dispose()
    users = [
        (
            user_id,
            role.value,
            mint_token(settings, sub=user_id, name=name, email=f"{user_id}@example.com", ttl=ttl),
        )
        for user_id, name, role in DEMO_USERS
    ]
    return Demo(project_id=project.id, project_name=project.name, users=users)
