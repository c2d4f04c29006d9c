"""Presence: who has a task or project open now, across every server instance."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from functools import partial

import strawberry

from db.models import User as UserModel
from db.repositories import tasks as task_repo
from graph.auth.permissions import require_read
from graph.context import Info
from graph.errors import BadUserInput, NotFound, TaskliveError
from graph.realtime.rooms import project_room, task_room
from graph.resolvers.inputs import parse_uuid
from graph.resolvers.loaders import Loaders, ReadSession
from graph.schema.stats import ViewersChangedEvent
from graph.schema.user import User


async def viewers_of_room(info: Info, room: str) -> list[User]:
    """Users in a room; the caller has already been allowed to see the room's object."""
    user_ids = await info.context.services.realtime.viewers(room)
    models = await info.context.loaders.user.load_many(user_ids)
    return [
        User.from_model(m) if m else User.unknown(uid)
        for uid, m in zip(user_ids, models, strict=True)
    ]


async def users_in_task(info: Info, task_id: strawberry.ID) -> list[User]:
    ctx = info.context
    ctx.require_user()
    tid = parse_uuid(task_id, field="taskId")
    hidden = NotFound("task not found", field="taskId")
    async with ctx.db.read() as session:
        model = await task_repo.get(session, task_id=tid)
    if model is None:
        raise hidden
    await require_read(ctx, model.project_id, hidden=hidden)
    return await viewers_of_room(info, task_room(tid))


async def _user_rows(read: ReadSession, user_ids: Sequence[str]) -> list[UserModel | None]:
    """The rows of `user_ids`, in order, read now (not from a socket-long loader's cache)."""
    return await Loaders(read).user.load_many(user_ids)


async def viewers_changed(
    info: Info, task_id: strawberry.ID | None = None, project_id: strawberry.ID | None = None
) -> AsyncGenerator[ViewersChangedEvent, None]:
    """The room's viewers now, then again whenever someone joins or leaves.

    The watcher is registered before the caller is authorised, so a removal from the
    project that races this subscribe either refuses it or finds the watcher and ends it.
    Each change's list and user rows are built once for all watchers of the room.
    """
    ctx = info.context
    principal = ctx.require_user()
    if (task_id is None) == (project_id is None):
        raise BadUserInput("give exactly one of taskId and projectId", field="taskId")
    hub = ctx.services.realtime
    hidden: TaskliveError | None = None
    if task_id is not None:
        tid = parse_uuid(task_id, field="taskId")
        hidden = NotFound("task not found", field="taskId")
        pid = await hub.access.task_project(tid)
        if pid is None:
            raise hidden
        room = task_room(tid)
    else:
        pid = parse_uuid(str(project_id), field="projectId")
        room = project_room(pid)
    with hub.watchers.watch(
        room, user_id=principal.user_id, project_id=pid, admin=principal.is_admin
    ) as watcher:
        async with hub.guarded(watcher):
            await require_read(ctx, pid, hidden=hidden, fresh=True)
            while True:
                view = await watcher.next()
                rows = await view.payload(partial(_user_rows, ctx.db.read))
                yield ViewersChangedEvent(
                    room=room,
                    viewers=[
                        User.from_model(m) if m else User.unknown(u)
                        for u, m in zip(view.user_ids, rows, strict=True)
                    ],
                )
