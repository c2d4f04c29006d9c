"""The User type."""

from __future__ import annotations

import strawberry

from db.models import User as UserModel
from graph.auth import Principal


@strawberry.type
class User:
    id: strawberry.ID
    name: str | None
    email: str | None

    @classmethod
    def from_model(cls, model: UserModel) -> User:
        return cls(id=strawberry.ID(model.id), name=model.name, email=model.email)

    @classmethod
    def from_principal(cls, principal: Principal) -> User:
        return cls(id=strawberry.ID(principal.user_id), name=principal.name, email=principal.email)

    @classmethod
    def unknown(cls, user_id: str) -> User:
        """A user id that has no row (cannot happen for ids written by the API)."""
        return cls(id=strawberry.ID(user_id), name=None, email=None)
