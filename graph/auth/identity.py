"""Turning a raw token into a Principal, and recording the user it names."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from db.repositories import users as user_repo
from graph.auth.tokens import Principal, bearer_token
from graph.context import Services
from graph.errors import Unauthenticated

log = logging.getLogger(__name__)
_KNOWN_USERS_LIMIT = 100_000


async def authenticate(services: Services, raw: object) -> Principal | None:
    """The caller's Principal; None without a token; Unauthenticated for a bad one."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Unauthenticated("the token must be a string")
    token = bearer_token(raw)
    if token is None:
        return None
    principal = await services.verifier.verify(token)
    await remember_user(services, principal)
    return principal


async def remember_user(services: Services, principal: Principal) -> None:
    """Record the user on first sight, and their new name or email when a token changes it."""
    seen = services.known_users.get(principal.user_id)
    wanted = (principal.name, principal.email)
    if seen is not None and all(w is None or w == s for w, s in zip(wanted, seen, strict=True)):
        return
    for attempt in range(2):
        try:
            async with services.db.write() as session:
                user = await user_repo.upsert(
                    session, user_id=principal.user_id, name=principal.name, email=principal.email
                )
                stored = (user.name, user.email)
            break
        except IntegrityError:
            # Two first requests of one user raced to insert the row; the retry updates it.
            if attempt:
                raise
    if len(services.known_users) >= _KNOWN_USERS_LIMIT:
        services.known_users.clear()
    services.known_users[principal.user_id] = stored
