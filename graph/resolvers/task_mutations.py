"""Task mutations: validate, change the task and write its event in one transaction, publish."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EventType, TaskEvent, TaskStatus, utcnow
from db.models import Task as TaskModel
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from graph.auth.permissions import recheck_write, require_write
from graph.context import Context, Info
from graph.errors import BadUserInput, Conflict, NotFound, TaskliveError
from graph.resolvers.events import publish
from graph.resolvers.inputs import clean_description, clean_title, parse_user_id, parse_uuid
from graph.resolvers.tasks import task_not_found
from graph.schema.project import Task
from graph.schema.task import CreateTaskInput, UpdateTaskInput


async def _check_assignee(
    session: AsyncSession, *, project_id: str, assignee_id: str | None, field: str
) -> str | None:
    if assignee_id is None:
        return None
    assignee_id = parse_user_id(assignee_id, field=field)
    if await project_repo.get_role(session, project_id=project_id, user_id=assignee_id) is None:
        raise BadUserInput("the assignee must be a member of the project", field=field)
    return assignee_id


async def _lock_and_recheck(
    ctx: Context, session: AsyncSession, project_ids: Sequence[str], *, hidden: TaskliveError
) -> None:
    """Take the projects' locks (in one order) and check the caller may still write there."""
    for project_id in sorted(set(project_ids)):
        if await project_repo.lock(session, project_id=project_id) is None:
            raise hidden
        await recheck_write(ctx, session, project_id, hidden=hidden)


async def create_task(info: Info, input: CreateTaskInput) -> Task:
    ctx = info.context
    user = ctx.require_user()
    project_id = parse_uuid(input.project_id, field="input.projectId")
    title = clean_title(input.title, field="input.title")
    description = clean_description(input.description, field="input.description")
    hidden = NotFound("project not found", field="input.projectId")
    await require_write(ctx, project_id, hidden=hidden)
    async with ctx.db.write() as session:
        await _lock_and_recheck(ctx, session, [project_id], hidden=hidden)
        assignee = await _check_assignee(
            session, project_id=project_id, assignee_id=input.assignee_id, field="input.assigneeId"
        )
        model = await task_repo.create(
            session,
            project_id=project_id,
            title=title,
            description=description,
            status=input.status or TaskStatus.PENDING,
            assignee_id=assignee,
            created_by_id=user.user_id,
        )
        row = await event_repo.append(
            session, task=model, type=EventType.CREATED, actor_id=user.user_id
        )
    await publish(ctx, [row])
    return Task.from_model(model)


def _apply(model: TaskModel, changes: dict[str, object]) -> list[str]:
    """Set the changed attributes; return the GraphQL names of those that changed."""
    names = {
        "title": "title",
        "description": "description",
        "status": "status",
        "assignee_id": "assignee",
    }
    changed = []
    for attr, value in changes.items():
        if getattr(model, attr) != value:
            setattr(model, attr, value)
            changed.append(names[attr])
    if changed:
        model.version += 1
        model.updated_at = utcnow()
    return changed


async def _authorise_writes(ctx: Context, task_ids: Sequence[str], *, hidden: NotFound) -> None:
    """Check write access (from the cache) before the write transaction takes its locks.

    This refuses most outsiders without a lock; the transaction checks again, from the
    database and under the project's lock, so a removal in between is not missed.
    """
    async with ctx.db.read() as session:
        models = await task_repo.get_many(session, task_ids=task_ids)
    if len(models) != len(set(task_ids)):
        raise hidden
    for project_id in sorted({m.project_id for m in models}):
        await require_write(ctx, project_id, hidden=hidden)


async def _change(
    info: Info, id: str, changes: dict[str, object], expected_version: int | None
) -> Task:
    ctx = info.context
    user = ctx.require_user()
    task_id = parse_uuid(id, field="id")
    await _authorise_writes(ctx, [task_id], hidden=task_not_found())
    async with ctx.db.write() as session:
        model = await task_repo.get(session, task_id=task_id, for_update=True)
        if model is None:
            raise task_not_found()  # deleted since the check
        await _lock_and_recheck(ctx, session, [model.project_id], hidden=task_not_found())
        if expected_version is not None and model.version != expected_version:
            raise Conflict(
                f"task is at version {model.version}, not {expected_version}",
                current_version=model.version,
            )
        if "assignee_id" in changes:
            await _check_assignee(
                session,
                project_id=model.project_id,
                assignee_id=changes["assignee_id"],  # type: ignore[arg-type]
                field="input.assigneeId",
            )
        previous = model.status
        changed = _apply(model, changes)
        row = None
        if changed:
            row = await event_repo.append(
                session,
                task=model,
                type=EventType.UPDATED,
                actor_id=user.user_id,
                changed_fields=changed,
                previous_status=previous,
            )
    if row is not None:
        await publish(ctx, [row])
    return Task.from_model(model)


async def update_task(
    info: Info, id: strawberry.ID, input: UpdateTaskInput, expected_version: int | None = None
) -> Task:
    changes: dict[str, object] = {}
    if input.title is not strawberry.UNSET:
        if input.title is None:
            raise BadUserInput("title cannot be null", field="input.title")
        changes["title"] = clean_title(input.title, field="input.title")
    if input.description is not strawberry.UNSET:
        changes["description"] = clean_description(input.description, field="input.description")
    if input.status is not strawberry.UNSET:
        if input.status is None:
            raise BadUserInput("status cannot be null", field="input.status")
        changes["status"] = input.status
    if input.assignee_id is not strawberry.UNSET:
        changes["assignee_id"] = input.assignee_id
    return await _change(info, id, changes, expected_version)


async def update_task_status(
    info: Info, id: strawberry.ID, status: TaskStatus, expected_version: int | None = None
) -> Task:
    return await _change(info, id, {"status": status}, expected_version)


async def bulk_update_task_status(
    info: Info, ids: list[strawberry.ID], status: TaskStatus
) -> list[Task]:
    ctx = info.context
    user = ctx.require_user()
    if not 1 <= len(ids) <= ctx.settings.max_bulk_ids:
        raise BadUserInput(f"give 1 to {ctx.settings.max_bulk_ids} ids", field="ids")
    task_ids = [parse_uuid(i, field="ids") for i in ids]
    hidden = NotFound("task not found", field="ids")
    rows: list[TaskEvent] = []
    await _authorise_writes(ctx, task_ids, hidden=hidden)
    async with ctx.db.write() as session:
        models = {
            m.id: m for m in await task_repo.get_many(session, task_ids=task_ids, for_update=True)
        }
        if len(models) != len(set(task_ids)):
            raise hidden  # deleted since the check
        await _lock_and_recheck(
            ctx, session, [m.project_id for m in models.values()], hidden=hidden
        )
        for model in sorted(models.values(), key=lambda m: (m.project_id, m.id)):
            previous = model.status
            if _apply(model, {"status": status}):
                rows.append(
                    await event_repo.append(
                        session,
                        task=model,
                        type=EventType.UPDATED,
                        actor_id=user.user_id,
                        changed_fields=["status"],
                        previous_status=previous,
                    )
                )
    await publish(ctx, rows)
    return [Task.from_model(models[i]) for i in task_ids]


async def delete_task(info: Info, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    user = ctx.require_user()
    task_id = parse_uuid(id, field="id")
    await _authorise_writes(ctx, [task_id], hidden=task_not_found())
    async with ctx.db.write() as session:
        model = await task_repo.get(session, task_id=task_id, for_update=True)
        if model is None:
            raise task_not_found()  # deleted since the check
        await _lock_and_recheck(ctx, session, [model.project_id], hidden=task_not_found())
        model.version += 1
        model.updated_at = utcnow()
        row = await event_repo.append(
            session, task=model, type=EventType.DELETED, actor_id=user.user_id
        )
        await task_repo.delete_one(session, task_id=task_id)
    await publish(ctx, [row])
    return strawberry.ID(task_id)
