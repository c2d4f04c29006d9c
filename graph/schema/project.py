"""Project and ProjectMember types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from db.models import Project as ProjectModel
from db.models import ProjectMember as ProjectMemberModel
from db.models import ProjectRole, TaskStatus
from graph.context import Info
from graph.resolvers.inputs import encode_event_cursor
from graph.schema import enums as _enums  # noqa: F401 - registers the GraphQL enums
from graph.schema.user import User

if TYPE_CHECKING:
    from graph.schema.task import TaskConnection


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
    ) -> Annotated[TaskConnection, strawberry.lazy("graph.schema.task")]:
        from graph.resolvers.tasks import task_page

        return await task_page(info, project_id=self.id, status=status, first=first, after=after)

    @strawberry.field(description="Presence: users subscribed to this project's room right now.")
    async def viewers(self, info: Info) -> list[User]:
        from graph.resolvers.presence import viewers_of_room

        return await viewers_of_room(info, f"project:{self.id}")

    @classmethod
    def from_model(cls, model: ProjectModel) -> Project:
        return cls(id=strawberry.ID(model.id), name=model.name, event_seq=model.event_seq)
