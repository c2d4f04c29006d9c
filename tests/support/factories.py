"""Factories for the usual data: users, a project with its members, tasks with their event
rows. They write through the repositories, as the resolvers do, one transaction each, so the
event log stays gapless (1, 2, 3... per project)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from db.models import EventType, ProjectRole, TaskEvent, TaskStatus
from db.models import Task as TaskModel
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.session import Database

ROLES = {"member": ProjectRole.MEMBER, "viewer": ProjectRole.VIEWER}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_user(db: Database, user_id: str | None = None, *, name: str | None = None) -> str:
    user_id = user_id or unique("user")
    async with db.write() as session:
        await user_repo.upsert(session, user_id=user_id, name=name, email=None)
    return user_id


async def make_project(
    db: Database,
    *,
    owner: str,
    members: dict[str, ProjectRole] | None = None,
    name: str | None = None,
) -> str:
    """A project of `owner`; each of `members` added with a MEMBER_ADDED event, as the
    `addProjectMember` mutation does. Users are recorded first when they are new."""
    async with db.write() as session:
        for user_id in (owner, *(members or {})):
            await user_repo.upsert(session, user_id=user_id, name=None, email=None)
        project = await project_repo.create(session, name=name or unique("project"), owner_id=owner)
        for user_id, role in (members or {}).items():
            await project_repo.set_member(
                session, project_id=project.id, user_id=user_id, role=role
            )
            await event_repo.append_membership(
                session,
                project_id=project.id,
                type=EventType.MEMBER_ADDED,
                actor_id=owner,
                member_id=user_id,
                role=role,
            )
        return project.id


async def make_task(
    db: Database,
    *,
    project_id: str,
    created_by: str,
    title: str | None = None,
    status: TaskStatus = TaskStatus.PENDING,
    assignee_id: str | None = None,
    description: str | None = None,
) -> tuple[TaskModel, TaskEvent]:
    """A task and its CREATED event, in one transaction, as `createTask` writes them."""
    async with db.write() as session:
        task = await task_repo.create(
            session,
            project_id=project_id,
            title=title or unique("task"),
            description=description,
            status=status,
            assignee_id=assignee_id,
            created_by_id=created_by,
        )
        event = await event_repo.append(
            session, task=task, type=EventType.CREATED, actor_id=created_by
        )
        return task, event


async def make_updates(db: Database, task: TaskModel, count: int, *, actor: str) -> list[TaskEvent]:
    """`count` UPDATED events of `task`, each bumping its version (committed together)."""
    rows = []
    async with db.write() as session:
        model = await task_repo.get(session, task_id=task.id, for_update=True)
        assert model is not None
        for _ in range(count):
            model.version += 1
            await session.flush()
            rows.append(
                await event_repo.append(session, task=model, type=EventType.UPDATED, actor_id=actor)
            )
    return rows


@dataclass
class Team:
    """A project with an owner, a member and a viewer, and an outsider who is in no project."""

    project_id: str
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.ids["owner"]


async def make_team(db: Database) -> Team:
    ids = {role: unique(role) for role in ("owner", "member", "viewer", "outsider")}
    await make_user(db, ids["outsider"])
    project_id = await make_project(
        db,
        owner=ids["owner"],
        members={ids[role]: ROLES[role] for role in ("member", "viewer")},
    )
    return Team(project_id=project_id, ids=ids)
