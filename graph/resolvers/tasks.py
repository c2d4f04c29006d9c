"""Task queries, and the input rules that task mutations share."""

from __future__ import annotations

import logging

import strawberry

from db.models import TaskStatus
from db.repositories import tasks as task_repo
from graph.auth.permissions import require_read
from graph.context import Context, Info
from graph.errors import BadUserInput, NotFound
from graph.resolvers.inputs import (
    check_text,
    decode_task_cursor,
    encode_task_cursor,
    parse_user_id,
    parse_uuid,
)
from graph.resolvers.loaders import TaskPageKey
from graph.schema.task import (
    PageInfo,
    Task,
    TaskConnection,
    TaskEdge,
)

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000


def clean_title(value: str, *, field: str) -> str:
    title = value.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise BadUserInput(f"title must be 1 to {MAX_TITLE} characters", field=field)
    return check_text(title, field=field)


def clean_description(value: str | None, *, field: str) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_DESCRIPTION:
        raise BadUserInput(f"description must be at most {MAX_DESCRIPTION} characters", field=field)
    return check_text(value, field=field)


def page_size(ctx: Context, first: int | None, *, field: str = "first") -> int:
    limit = ctx.settings.max_page_size
    if first is None:
        return min(ctx.settings.default_page_size, limit)
    if not 0 <= first <= limit:
        raise BadUserInput(f"`{field}` must be between 0 and {limit}", field=field)
    return first


def task_not_found() -> NotFound:
    return NotFound("task not found", field="id")


async def task_page(
    info: Info,
    *,
    project_id: str,
    status: TaskStatus | None = None,
    assignee_id: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> TaskConnection:
    ctx = info.context
    project_id = parse_uuid(project_id, field="projectId")
    if assignee_id is not None:
        assignee_id = parse_user_id(assignee_id, field="assigneeId")
    size = page_size(ctx, first)
    position = decode_task_cursor(after) if after is not None else None
    await require_read(ctx, project_id)
    page = await ctx.loaders.task_page.load(
        TaskPageKey(project_id, size, position, status, assignee_id)
    )
    edges = [
        TaskEdge(cursor=encode_task_cursor(t.created_at, t.id), node=Task.from_model(t))
        for t in page.tasks
    ]
    return TaskConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=position is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total,
    )


async def list_tasks(
    info: Info,
    project_id: strawberry.ID,
    status: TaskStatus | None = None,
    assignee_id: strawberry.ID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> TaskConnection:
    return await task_page(
        info,
        project_id=project_id,
        status=status,
        assignee_id=assignee_id,
        first=first,
        after=after,
    )


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
