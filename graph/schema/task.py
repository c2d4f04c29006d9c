"""The inputs that change a task (the Task type is in graph/schema/project.py, beside Project)."""

from __future__ import annotations

import strawberry

from db.models import TaskStatus
from graph.schema import enums as _enums  # noqa: F401 - registers the GraphQL enums


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
