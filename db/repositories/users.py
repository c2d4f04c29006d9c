"""Users: recorded the first time a token names them, renamed by later tokens."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User, utcnow


async def get(session: AsyncSession, *, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def get_many(session: AsyncSession, *, user_ids: Sequence[str]) -> list[User]:
    if not user_ids:
        return []
    result = await session.scalars(select(User).where(User.id.in_(set(user_ids))))
    return list(result)


async def upsert(
    session: AsyncSession, *, user_id: str, name: str | None, email: str | None
) -> User:
    """Create the user, or update name/email when the token carries new ones."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        user = User(id=user_id, name=name, email=email)
        session.add(user)
    else:
        if name is not None and user.name != name:
            user.name = name
            user.updated_at = utcnow()
        if email is not None and user.email != email:
            user.email = email
            user.updated_at = utcnow()
    await session.flush()
    return user
