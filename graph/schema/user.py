"""The User type."""

from __future__ import annotations

import strawberry

from db.models import User as UserModel
from graph.auth.tokens import Principal
from graph.context import Info

# Fields whose value depends on who asks: one rendering shared by several subscribers
# (the fast path's groups) must not carry them.
VIEWER_DEPENDENT_FIELDS = frozenset({"email"})


@strawberry.type
class User:
    id: strawberry.ID
    name: str | None
    stored_email: strawberry.Private[str | None]

    @strawberry.field(description="Visible to the user and to admins; null to everyone else.")
    def email(self, info: Info) -> str | None:
        viewer = info.context.principal
        if viewer is not None and (viewer.is_admin or viewer.user_id == self.id):
            return self.stored_email
        return None

    @classmethod
    def from_model(cls, model: UserModel) -> User:
        return cls(id=strawberry.ID(model.id), name=model.name, stored_email=model.email)

    @classmethod
    def from_principal(cls, principal: Principal) -> User:
        return cls(
            id=strawberry.ID(principal.user_id), name=principal.name, stored_email=principal.email
        )

    @classmethod
    def unknown(cls, user_id: str) -> User:
        """A user id that has no row (cannot happen for ids written by the API)."""
        return cls(id=strawberry.ID(user_id), name=None, stored_email=None)
