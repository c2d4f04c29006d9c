"""Pages of tasks: the arguments checked, read access required, the page read through the loaders.

Schema-free, so that both `Query.tasks` and `Project.tasks` build their connection from it.
"""

from __future__ import annotations

from db.models import TaskStatus
from db.repositories.tasks import TaskPage
from graph.auth.permissions import require_read
from graph.context import Context, Info
from graph.errors import BadUserInput
from graph.resolvers.inputs import decode_task_cursor, parse_user_id, parse_uuid
from graph.resolvers.loaders import TaskPageKey


def page_size(ctx: Context, first: int | None, *, field: str = "first") -> int:
    limit = ctx.settings.max_page_size
    if first is None:
        return min(ctx.settings.default_page_size, limit)
    if not 0 <= first <= limit:
        raise BadUserInput(f"`{field}` must be between 0 and {limit}", field=field)
    return first


async def load_task_page(
    info: Info,
    *,
    project_id: str,
    status: TaskStatus | None = None,
    assignee_id: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> TaskPage:
    ctx = info.context
    project_id = parse_uuid(project_id, field="projectId")
    if assignee_id is not None:
        assignee_id = parse_user_id(assignee_id, field="assigneeId")
    size = page_size(ctx, first)
    position = decode_task_cursor(after) if after is not None else None
    await require_read(ctx, project_id)
    return await ctx.loaders.task_page.load(
        TaskPageKey(project_id, size, position, status, assignee_id)
    )
