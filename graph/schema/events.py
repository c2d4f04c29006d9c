"""The events a task goes through, as queries and subscriptions deliver them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.models import EventType, TaskStatus
from graph.context import Info
from graph.realtime.records import EventRecord
from graph.resolvers.inputs import encode_event_cursor
from graph.schema.project import Task
from graph.schema.user import User


async def _actor(info: Info, user_id: str) -> User:
    model = await info.context.loaders.user.load(user_id)
    return User.from_model(model) if model else User.unknown(user_id)


@strawberry.interface
class TaskEvent:
    cursor: str
    occurred_at: datetime
    task_id: strawberry.ID
    project_id: strawberry.ID
    actor_id: strawberry.Private[str]


@strawberry.type
class TaskCreatedEvent(TaskEvent):
    task: Task

    @strawberry.field
    async def created_by(self, info: Info) -> User:
        return await _actor(info, self.actor_id)


@strawberry.type
class TaskUpdatedEvent(TaskEvent):
    task: Task
    previous_status: TaskStatus | None
    changed_fields: list[str]

    @strawberry.field
    async def updated_by(self, info: Info) -> User:
        return await _actor(info, self.actor_id)


@strawberry.type
class TaskDeletedEvent(TaskEvent):
    task: Task | None = strawberry.field(description="The task as it was when it was deleted.")

    @strawberry.field
    async def deleted_by(self, info: Info) -> User:
        return await _actor(info, self.actor_id)


AnyTaskEvent = TaskCreatedEvent | TaskUpdatedEvent | TaskDeletedEvent


def event_from_record(record: EventRecord) -> AnyTaskEvent:
    """The GraphQL event of a task event; membership changes never reach this far."""
    if record.task_id is None or record.task_state is None:
        raise ValueError(f"event {record.project_id}/{record.seq} is not a task event")
    cursor = encode_event_cursor(record.project_id, record.seq)
    task_id = strawberry.ID(record.task_id)
    project_id = strawberry.ID(record.project_id)
    task = Task.from_snapshot(record.task_state)
    if record.type is EventType.CREATED:
        return TaskCreatedEvent(
            cursor=cursor,
            occurred_at=record.occurred_at,
            task_id=task_id,
            project_id=project_id,
            actor_id=record.actor_id,
            task=task,
        )
    if record.type is EventType.DELETED:
        return TaskDeletedEvent(
            cursor=cursor,
            occurred_at=record.occurred_at,
            task_id=task_id,
            project_id=project_id,
            actor_id=record.actor_id,
            task=task,
        )
    return TaskUpdatedEvent(
        cursor=cursor,
        occurred_at=record.occurred_at,
        task_id=task_id,
        project_id=project_id,
        actor_id=record.actor_id,
        task=task,
        previous_status=TaskStatus(record.previous_status) if record.previous_status else None,
        changed_fields=list(record.changed_fields),
    )
