"""Tasks: keyword-only reads and writes; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

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


SelectT = TypeVar("SelectT", bound=Select[Any])


def _filtered(
    query: SelectT, *, project_id: str, status: TaskStatus | None, assignee_id: str | None
) -> SelectT:
    query = query.where(Task.project_id == project_id)
    if status is not None:
        query = query.where(Task.status == status)
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    return query


async def get_page(
    session: AsyncSession,
    *,
    project_id: str,
    first: int,
    after: tuple[datetime, str] | None = None,
    status: TaskStatus | None = None,
    assignee_id: str | None = None,
) -> TaskPage:
    """One page in (created_at, id) order, plus whether more follow and the total."""
    query = select(Task)
    query = _filtered(query, project_id=project_id, status=status, assignee_id=assignee_id)
    if after is not None:
        created_at, task_id = after
        query = query.where(
            or_(
                Task.created_at > created_at, and_(Task.created_at == created_at, Task.id > task_id)
            )
        )
    query = query.order_by(Task.created_at, Task.id).limit(first + 1)
    rows = list(await session.scalars(query))
    count_query = _filtered(
        select(func.count()).select_from(Task),
        project_id=project_id,
        status=status,
        assignee_id=assignee_id,
    )
    total = int(await session.scalar(count_query) or 0)
    return TaskPage(tasks=rows[:first], has_next=len(rows) > first, total=total)


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
