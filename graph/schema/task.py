"""Task, its Relay connection, and the inputs that change it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.models import Task as TaskModel
from db.models import TaskStatus
from graph.context import Info
from graph.schema import enums as _enums  # noqa: F401 - registers the GraphQL enums
from graph.schema.user import User

if TYPE_CHECKING:
    from graph.schema.project import Project


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
    async def project(
        self, info: Info
    ) -> Annotated[Project, strawberry.lazy("graph.schema.project")]:
        from graph.schema.project import Project

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
        from graph.resolvers.presence import viewers_of_room

        return await viewers_of_room(info, f"task:{self.id}")

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


@strawberry.input
class CreateTaskInput:
    project_id: strawberry.ID
    title: str
    description: str | None = None
    status: TaskStatus | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input
class UpdateTaskInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    status: TaskStatus | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET
