"""Tasks: keyword-only reads and writes; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Project, Task, TaskStatus


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    has_next: bool
    total: int


async def get(session: AsyncSession, *, task_id: str, for_update: bool = False) -> Task | None:
    return await session.get(Task, task_id, with_for_update=for_update, populate_existing=True)


async def get_project_at(session: AsyncSession, *, task_id: str) -> tuple[int, str] | None:
    """The task's project and that project's last event sequence number, in one read."""
    row = (
        await session.execute(
            select(Project.event_seq, Task.project_id)
            .join(Project, Project.id == Task.project_id)
            .where(Task.id == task_id)
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def get_many(
    session: AsyncSession, *, task_ids: Sequence[str], for_update: bool = False
) -> list[Task]:
    if not task_ids:
        return []
    # Sorted ids, so that concurrent bulk writers take row locks in one order.
    query = select(Task).where(Task.id.in_(sorted(set(task_ids)))).order_by(Task.id)
    if for_update:
        query = query.with_for_update()
    return list(await session.scalars(query.execution_options(populate_existing=True)))


def _conditions(
    *, project_ids: Sequence[str], status: TaskStatus | None, assignee_id: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Task.project_id.in_(project_ids)]
    if status is not None:
        conditions.append(Task.status == status)
    if assignee_id is not None:
        conditions.append(Task.assignee_id == assignee_id)
    return conditions


def _after(position: tuple[datetime, str]) -> ColumnElement[bool]:
    """Tasks after `position` in (created_at, id) order, the order every list uses."""
    created_at, task_id = position
    return or_(Task.created_at > created_at, and_(Task.created_at == created_at, Task.id > task_id))


async def get_after(
    session: AsyncSession, *, project_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[Task]:
    """Up to `limit` of a project's tasks after `after`, in (created_at, id) order: a
    keyset page, so reading a whole project page by page costs one index range in all."""
    query = select(Task).where(Task.project_id == project_id)
    if after is not None:
        query = query.where(_after(after))
    query = query.order_by(Task.created_at, Task.id).limit(limit)
    return list(await session.scalars(query))


async def get_pages(
    session: AsyncSession,
    *,
    project_ids: Sequence[str],
    first: int,
    after: tuple[datetime, str] | None = None,
    status: TaskStatus | None = None,
    assignee_id: str | None = None,
) -> dict[str, TaskPage]:
    """The same page of each project's tasks, in (created_at, id) order, with whether more
    follow and the total: two statements however many projects (a window function ranks
    each project's rows, on SQLite and PostgreSQL alike)."""
    if not project_ids:
        return {}
    project_ids = sorted(set(project_ids))
    filters = _conditions(project_ids=project_ids, status=status, assignee_id=assignee_id)
    order = (Task.created_at, Task.id)
    rank = func.row_number().over(partition_by=Task.project_id, order_by=order).label("page_rank")
    ranked = select(Task, rank).where(*filters)
    if after is not None:
        ranked = ranked.where(_after(after))
    rows = ranked.subquery()
    task = aliased(Task, rows)
    query = (
        select(task)
        .where(rows.c.page_rank <= first + 1)
        .order_by(rows.c.project_id, rows.c.created_at, rows.c.id)
    )
    found: dict[str, list[Task]] = {p: [] for p in project_ids}
    for model in await session.scalars(query):
        found[model.project_id].append(model)
    counts = select(Task.project_id, func.count()).where(*filters).group_by(Task.project_id)
    totals: dict[str, int] = {p: int(n) for p, n in await session.execute(counts)}
    return {
        p: TaskPage(tasks=found[p][:first], has_next=len(found[p]) > first, total=totals.get(p, 0))
        for p in project_ids
    }


async def create(
    session: AsyncSession,
    *,
    project_id: str,
    title: str,
    description: str | None,
    status: TaskStatus,
    assignee_id: str | None,
    created_by_id: str,
) -> Task:
    task = Task(
        project_id=project_id,
        title=title,
        description=description,
        status=status,
        assignee_id=assignee_id,
        created_by_id=created_by_id,
        version=1,
    )
    session.add(task)
    await session.flush()
    return task


async def delete_one(session: AsyncSession, *, task_id: str) -> None:
    await session.execute(delete(Task).where(Task.id == task_id))
