"""The signed-in user."""

from __future__ import annotations

from graph.context import Info
from graph.schema.user import User


async def me(info: Info) -> User:
    principal = info.context.require_user()
    model = await info.context.loaders.user.load(principal.user_id)
    return User.from_model(model) if model else User.from_principal(principal)
