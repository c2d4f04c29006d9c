"""Presence: who has a task or project open now, across every server instance."""

from __future__ import annotations

import strawberry

from db.repositories import tasks as task_repo
from graph.context import Info
from graph.cursors import parse_uuid
from graph.errors import NotFound
from graph.permissions import require_read
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
    return await viewers_of_room(info, f"task:{tid}")
