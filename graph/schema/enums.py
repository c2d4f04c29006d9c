"""GraphQL enums, the same values as the database enums."""

import strawberry

from db.models import ProjectRole, TaskStatus

TaskStatusEnum = strawberry.enum(TaskStatus, name="TaskStatus")
ProjectRoleEnum = strawberry.enum(ProjectRole, name="ProjectRole")

__all__ = ["ProjectRoleEnum", "TaskStatusEnum"]
