"""Task queries."""

from __future__ import annotations

import logging

import strawberry

from db.models import TaskStatus
from db.repositories import tasks as task_repo
from graph.auth.permissions import require_read
from graph.context import Info
from graph.errors import NotFound
from graph.resolvers.inputs import parse_uuid
from graph.resolvers.pages import load_task_page
from graph.schema.project import Task, TaskConnection

log = logging.getLogger(__name__)


def task_not_found() -> NotFound:
    return NotFound("task not found", field="id")


async def list_tasks(
    info: Info,
    project_id: strawberry.ID,
    status: TaskStatus | None = None,
    assignee_id: strawberry.ID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> TaskConnection:
    page = await load_task_page(
        info,
        project_id=project_id,
        status=status,
        assignee_id=assignee_id,
        first=first,
        after=after,
    )
    return TaskConnection.from_page(page, after=after)


async def get_task(info: Info, id: strawberry.ID) -> Task | None:
    ctx = info.context
    ctx.require_user()
    task_id = parse_uuid(id, field="id")
    async with ctx.db.read() as session:
        model = await task_repo.get(session, task_id=task_id)
    if model is None:
        raise task_not_found()
    await require_read(ctx, model.project_id, hidden=task_not_found())
    return Task.from_model(model)
