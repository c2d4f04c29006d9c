"""Who may read and change what: project roles, with admins allowed everything."""

from __future__ import annotations

from db.models import ProjectRole
from graph.auth import Principal
from graph.context import Context
from graph.errors import Forbidden, NotFound, TaskliveError

WRITER_ROLES = frozenset({ProjectRole.OWNER, ProjectRole.MEMBER})


async def role_in(ctx: Context, project_id: str) -> ProjectRole | None:
    """The caller's role, from the live layer's cache of roles.

    The cache forgets a role the moment a membership change is made on this instance or
    announced by another, so a removed member is refused on their very next request; it
    saves a database round trip on nearly every request and subscription.
    """
    if ctx.principal is None:
        return None
    return await ctx.services.realtime.access.role(ctx.principal.user_id, project_id)


async def require_read(
    ctx: Context, project_id: str, *, hidden: TaskliveError | None = None
) -> Principal:
    """The caller may see the project; outsiders get NOT_FOUND, as for a missing one."""
    user = ctx.require_user()
    if user.is_admin:
        return user
    if await role_in(ctx, project_id) is None:
        raise hidden or NotFound("project not found", field="projectId")
    return user


async def require_write(
    ctx: Context, project_id: str, *, hidden: TaskliveError | None = None
) -> Principal:
    user = ctx.require_user()
    if user.is_admin:
        return user
    role = await role_in(ctx, project_id)
    if role is None:
        raise hidden or NotFound("project not found", field="projectId")
    if role not in WRITER_ROLES:
        raise Forbidden(f"a {role.value} may not change this project's tasks")
    return user


async def require_owner(
    ctx: Context, project_id: str, *, hidden: TaskliveError | None = None
) -> Principal:
    user = ctx.require_user()
    if user.is_admin:
        return user
    role = await role_in(ctx, project_id)
    if role is None:
        raise hidden or NotFound("project not found", field="projectId")
    if role is not ProjectRole.OWNER:
        raise Forbidden("only an OWNER may change the project's members")
    return user


def require_admin(ctx: Context) -> Principal:
    user = ctx.require_user()
    if not user.is_admin:
        raise Forbidden("admin only")
    return user
