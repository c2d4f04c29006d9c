"""A project, its members and its tasks (Project and Task refer to each other), one module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from db.models import Project as ProjectModel
from db.models import ProjectMember as ProjectMemberModel
from db.models import ProjectRole, TaskStatus
from db.models import Task as TaskModel
from db.repositories.tasks import TaskPage
from graph.context import Info
from graph.realtime.rooms import project_room, task_room
from graph.resolvers.inputs import encode_event_cursor, encode_task_cursor
from graph.resolvers.pages import load_task_page
from graph.resolvers.presence import viewers_of_room
from graph.schema import enums as _enums  # noqa: F401 - registers the GraphQL enums
from graph.schema.user import User


@strawberry.type
class ProjectMember:
    role: ProjectRole
    user_id: strawberry.Private[str]

    @strawberry.field
    async def user(self, info: Info) -> User:
        model = await info.context.loaders.user.load(self.user_id)
        return User.from_model(model) if model else User.unknown(self.user_id)

    @classmethod
    def from_model(cls, model: ProjectMemberModel) -> ProjectMember:
        return cls(role=model.role, user_id=model.user_id)


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    event_seq: strawberry.Private[int]

    @strawberry.field(
        description=(
            "The cursor of the project's latest event. Read it before loading tasks, then "
            "subscribe with `after:` it: whatever changed in between is replayed."
        )
    )
    def last_event_cursor(self) -> str:
        return encode_event_cursor(self.id, self.event_seq)

    @strawberry.field
    async def members(self, info: Info) -> list[ProjectMember]:
        members = await info.context.loaders.members.load(self.id)
        return [ProjectMember.from_model(m) for m in members]

    @strawberry.field
    async def tasks(
        self,
        info: Info,
        status: TaskStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> TaskConnection:
        page = await load_task_page(
            info, project_id=self.id, status=status, first=first, after=after
        )
        return TaskConnection.from_page(page, after=after)

    @strawberry.field(description="Presence: users subscribed to this project's room right now.")
    async def viewers(self, info: Info) -> list[User]:
        return await viewers_of_room(info, project_room(self.id))

    @classmethod
    def from_model(cls, model: ProjectModel) -> Project:
        return cls(id=strawberry.ID(model.id), name=model.name, event_seq=model.event_seq)


@strawberry.type
class Task:
    id: strawberry.ID
    title: str
    description: str | None
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(
        description="+1 on every change; events of a task arrive in version order."
    )
    project_id: strawberry.Private[str]
    assignee_id: strawberry.Private[str | None]
    created_by_id: strawberry.Private[str]

    @strawberry.field
    async def project(self, info: Info) -> Project:
        model = await info.context.loaders.project.load(self.project_id)
        if model is None:
            return Project(id=strawberry.ID(self.project_id), name="", event_seq=0)
        return Project.from_model(model)

    @strawberry.field
    async def assignee(self, info: Info) -> User | None:
        if self.assignee_id is None:
            return None
        model = await info.context.loaders.user.load(self.assignee_id)
        return User.from_model(model) if model else User.unknown(self.assignee_id)

    @strawberry.field
    async def created_by(self, info: Info) -> User:
        model = await info.context.loaders.user.load(self.created_by_id)
        return User.from_model(model) if model else User.unknown(self.created_by_id)

    @strawberry.field(description="Presence: users subscribed to this task right now.")
    async def viewers(self, info: Info) -> list[User]:
        return await viewers_of_room(info, task_room(self.id))

    @classmethod
    def from_model(cls, model: TaskModel) -> Task:
        return cls(
            id=strawberry.ID(model.id),
            title=model.title,
            description=model.description,
            status=model.status,
            created_at=model.created_at,
            updated_at=model.updated_at,
            version=model.version,
            project_id=model.project_id,
            assignee_id=model.assignee_id,
            created_by_id=model.created_by_id,
        )

    @classmethod
    def from_snapshot(cls, state: dict[str, Any]) -> Task:
        """The task as an event row recorded it."""
        return cls(
            id=strawberry.ID(state["id"]),
            title=state["title"],
            description=state["description"],
            status=TaskStatus(state["status"]),
            created_at=datetime.fromisoformat(state["created_at"]),
            updated_at=datetime.fromisoformat(state["updated_at"]),
            version=state["version"],
            project_id=state["project_id"],
            assignee_id=state["assignee_id"],
            created_by_id=state["created_by_id"],
        )


@strawberry.type
class TaskEdge:
    cursor: str
    node: Task


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class TaskConnection:
    edges: list[TaskEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: TaskPage, *, after: str | None) -> TaskConnection:
        edges = [
            TaskEdge(cursor=encode_task_cursor(t.created_at, t.id), node=Task.from_model(t))
            for t in page.tasks
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )
