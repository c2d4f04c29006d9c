"""The append-only event log: task and membership changes, numbered 1, 2, 3... per project."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    MEMBERSHIP_EVENT_TYPES,
    TASK_EVENT_TYPES,
    EventType,
    Project,
    ProjectRole,
    Task,
    TaskEvent,
    TaskStatus,
    utcnow,
)
from db.repositories import projects as project_repo


def snapshot(task: Task) -> dict[str, Any]:
    """The task's state as stored in an event row (JSON-safe)."""
    return {
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "assignee_id": task.assignee_id,
        "created_by_id": task.created_by_id,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
        "version": task.version,
    }


async def append(
    session: AsyncSession,
    *,
    task: Task,
    type: EventType,
    actor_id: str,
    changed_fields: Sequence[str] = (),
    previous_status: TaskStatus | None = None,
) -> TaskEvent:
    seq = await project_repo.next_event_seq(session, project_id=task.project_id)
    event = TaskEvent(
        project_id=task.project_id,
        seq=seq,
        task_id=task.id,
        type=type,
        actor_id=actor_id,
        occurred_at=utcnow(),
        changed_fields=list(changed_fields),
        previous_status=previous_status,
        task_state=snapshot(task),
    )
    session.add(event)
    await session.flush()
    return event


async def append_membership(
    session: AsyncSession,
    *,
    project_id: str,
    type: EventType,
    actor_id: str,
    member_id: str,
    role: ProjectRole | None,
) -> TaskEvent:
    """Write a membership change into the project's log (the caller holds its row lock)."""
    assert type in MEMBERSHIP_EVENT_TYPES
    seq = await project_repo.next_event_seq(session, project_id=project_id)
    event = TaskEvent(
        project_id=project_id,
        seq=seq,
        task_id=None,
        type=type,
        actor_id=actor_id,
        occurred_at=utcnow(),
        changed_fields=[],
        member_id=member_id,
        member_role=role,
    )
    session.add(event)
    await session.flush()
    return event


async def get_after(
    session: AsyncSession,
    *,
    project_id: str,
    after_seq: int,
    limit: int,
    task_id: str | None = None,
    types: Collection[EventType] = TASK_EVENT_TYPES,
) -> list[TaskEvent]:
    """Task events after `after_seq` in order; membership changes only when `types` asks."""
    query = select(TaskEvent).where(
        TaskEvent.project_id == project_id,
        TaskEvent.seq > after_seq,
        TaskEvent.type.in_(sorted(types)),
    )
    if task_id is not None:
        query = query.where(TaskEvent.task_id == task_id)
    return list(await session.scalars(query.order_by(TaskEvent.seq).limit(limit)))


async def get_range(
    session: AsyncSession, *, project_id: str, after_seq: int, upto_seq: int
) -> list[TaskEvent]:
    """Events with after_seq < seq <= upto_seq, in order (membership changes included)."""
    query = (
        select(TaskEvent)
        .where(
            TaskEvent.project_id == project_id,
            TaskEvent.seq > after_seq,
            TaskEvent.seq <= upto_seq,
        )
        .order_by(TaskEvent.seq)
    )
    return list(await session.scalars(query))


async def is_expired(session: AsyncSession, *, project_id: str, after_seq: int) -> bool:
    """True when events after `after_seq` have been pruned, so a resume would miss some."""
    oldest = await session.scalar(
        select(func.min(TaskEvent.seq)).where(TaskEvent.project_id == project_id)
    )
    if oldest is not None:
        return after_seq < int(oldest) - 1
    last = await session.scalar(select(Project.event_seq).where(Project.id == project_id))
    return last is not None and after_seq < int(last)


async def last_seqs(session: AsyncSession, *, project_ids: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        select(Project.id, Project.event_seq).where(Project.id.in_(list(project_ids)))
    )
    return {project_id: int(seq) for project_id, seq in rows}


async def get_access_changes(session: AsyncSession, *, after: dict[str, int]) -> list[TaskEvent]:
    """Membership changes and task deletions after the given sequence number of each project."""
    if not after:
        return []
    query = select(TaskEvent).where(
        TaskEvent.project_id.in_(list(after)),
        TaskEvent.seq > min(after.values()),
        TaskEvent.type.in_([*MEMBERSHIP_EVENT_TYPES, EventType.DELETED]),
    )
    return [row for row in await session.scalars(query) if row.seq > after[row.project_id]]


async def prune(session: AsyncSession, *, older_than: datetime) -> int:
    result = await session.execute(delete(TaskEvent).where(TaskEvent.occurred_at < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
