"""The root types, composed from the per-domain resolvers, and the schema itself."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql import GraphQLError

from graph.execution.extensions import build_extensions
from graph.execution.ratelimit import RateLimitedMutation
from graph.resolvers import events as event_resolvers
from graph.resolvers import presence as presence_resolvers
from graph.resolvers import projects as project_resolvers
from graph.resolvers import stats as stats_resolvers
from graph.resolvers import subscriptions as subscription_resolvers
from graph.resolvers import task_mutations
from graph.resolvers import tasks as task_resolvers
from graph.resolvers import users as user_resolvers
from graph.resolvers.live_fields import (
    TASK_CREATED,
    TASK_DELETED,
    TASK_EVENTS,
    TASK_UPDATED,
    LiveField,
    check_schema,
)
from graph.schema.events import TaskCreatedEvent, TaskDeletedEvent, TaskEvent, TaskUpdatedEvent
from graph.schema.project import Project, ProjectMember, Task, TaskConnection
from graph.schema.stats import RealtimeStats, ViewersChangedEvent
from graph.schema.user import User
from graph.settings import Settings


def mutation(resolver: Any) -> Any:
    """A mutation field under the per-user mutation rate limit."""
    return strawberry.mutation(resolver=resolver, extensions=[RateLimitedMutation()])


def live_subscription(field: LiveField[Any], resolver: Any, description: str | None = None) -> Any:
    """A live subscription field named by its declaration; `check_schema` holds them together."""
    return strawberry.subscription(resolver=resolver, name=field.name, description=description)


@strawberry.type
class Query:
    me: User = strawberry.field(resolver=user_resolvers.me)
    projects: list[Project] = strawberry.field(resolver=project_resolvers.list_projects)
    project: Project | None = strawberry.field(resolver=project_resolvers.get_project)
    task: Task | None = strawberry.field(resolver=task_resolvers.get_task)
    tasks: TaskConnection = strawberry.field(resolver=task_resolvers.list_tasks)
    task_events: list[TaskEvent] = strawberry.field(
        resolver=event_resolvers.task_events, description="Catch-up and polling fallback."
    )
    users_in_task: list[User] = strawberry.field(
        resolver=presence_resolvers.users_in_task, description="Who is subscribed to this task now."
    )
    realtime_stats: RealtimeStats = strawberry.field(
        resolver=stats_resolvers.realtime_stats, description="Admin only."
    )


@strawberry.type
class Mutation:
    create_project: Project = mutation(project_resolvers.create_project)
    add_project_member: ProjectMember = mutation(project_resolvers.add_project_member)
    remove_project_member: bool = mutation(project_resolvers.remove_project_member)
    create_task: Task = mutation(task_mutations.create_task)
    update_task: Task = mutation(task_mutations.update_task)
    update_task_status: Task = mutation(task_mutations.update_task_status)
    bulk_update_task_status: list[Task] = mutation(task_mutations.bulk_update_task_status)
    delete_task: strawberry.ID = mutation(task_mutations.delete_task)


@strawberry.type
class Subscription:
    task_updated: AsyncGenerator[TaskUpdatedEvent, None] = live_subscription(
        TASK_UPDATED, subscription_resolvers.task_updated, description="One task's room."
    )
    task_created: AsyncGenerator[TaskCreatedEvent, None] = live_subscription(
        TASK_CREATED, subscription_resolvers.task_created
    )
    task_deleted: AsyncGenerator[TaskDeletedEvent, None] = live_subscription(
        TASK_DELETED, subscription_resolvers.task_deleted
    )
    task_events: AsyncGenerator[TaskEvent, None] = live_subscription(
        TASK_EVENTS,
        subscription_resolvers.task_events,
        description="A project's room: every event.",
    )
    viewers_changed: AsyncGenerator[ViewersChangedEvent, None] = strawberry.subscription(
        resolver=presence_resolvers.viewers_changed,
        description="Exactly one argument; the current list first, then each change.",
    )


class TaskliveSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Silence Strawberry's per-error traceback: `ErrorCodes` logs the unexpected ones."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema; refused when a subscription field delivers task events undeclared."""
    schema = TaskliveSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[TaskCreatedEvent, TaskUpdatedEvent, TaskDeletedEvent],
        extensions=build_extensions(settings or Settings()),
    )
    check_schema(schema._schema)
    return schema
