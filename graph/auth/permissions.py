"""Who may read and change what: project roles, with admins allowed everything."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ProjectRole
from db.repositories import projects as project_repo
from graph.auth.tokens import Principal
from graph.context import Context
from graph.errors import Forbidden, NotFound, TaskliveError

WRITER_ROLES = frozenset({ProjectRole.OWNER, ProjectRole.MEMBER})


async def role_in(ctx: Context, project_id: str, *, fresh: bool = False) -> ProjectRole | None:
    """The caller's role, from the live layer's cache of roles.

    The cache forgets a role when the project's log shows a membership change, heard from
    the broker at once or found in the log by the periodic check, so a cached role is at
    most one check interval stale; it saves a database round trip on nearly every request.
    `fresh` is for guarded subscriptions: a role no older than what this instance has
    delivered of the project's log, else read from the database.
    """
    if ctx.principal is None:
        return None
    realtime = ctx.services.realtime
    if not fresh:
        return await realtime.access.role(ctx.principal.user_id, project_id)
    delivered = realtime.sequencer.delivered(project_id)
    if delivered is None:  # not followed here: only the database knows
        return await realtime.access.fresh_role(ctx.principal.user_id, project_id)
    return await realtime.access.role(ctx.principal.user_id, project_id, since=delivered)


async def require_read(
    ctx: Context, project_id: str, *, hidden: TaskliveError | None = None, fresh: bool = False
) -> Principal:
    """The caller may see the project; outsiders get NOT_FOUND, as for a missing one."""
    user = ctx.require_user()
    if user.is_admin:
        return user
    if await role_in(ctx, project_id, fresh=fresh) is None:
        raise hidden or NotFound("project not found", field="projectId")
    return user


async def require_write(
    ctx: Context, project_id: str, *, hidden: TaskliveError | None = None
) -> Principal:
    user = ctx.require_user()
    if not user.is_admin:
        _check_writer(await role_in(ctx, project_id), hidden=hidden)
    return user


async def require_owner(
    ctx: Context, project_id: str, *, hidden: TaskliveError | None = None
) -> Principal:
    user = ctx.require_user()
    if not user.is_admin:
        _check_owner(await role_in(ctx, project_id), hidden=hidden)
    return user


async def recheck_write(
    ctx: Context, session: AsyncSession, project_id: str, *, hidden: TaskliveError | None = None
) -> None:
    """`require_write` again inside the write transaction, once it holds the project's lock.

    A membership change takes the same lock, so a removal either committed before this
    read (which sees it) or waits for this transaction: a write in flight when its author
    was removed is refused and rolls back.
    """
    user = ctx.require_user()
    if not user.is_admin:
        role = await project_repo.get_role(session, project_id=project_id, user_id=user.user_id)
        _check_writer(role, hidden=hidden)


async def recheck_owner(ctx: Context, session: AsyncSession, project_id: str) -> None:
    """`require_owner` again inside the membership change's transaction, under the lock."""
    user = ctx.require_user()
    if not user.is_admin:
        role = await project_repo.get_role(session, project_id=project_id, user_id=user.user_id)
        _check_owner(role, hidden=None)


def _check_writer(role: ProjectRole | None, *, hidden: TaskliveError | None) -> None:
    if role is None:
        raise hidden or NotFound("project not found", field="projectId")
    if role not in WRITER_ROLES:
        raise Forbidden(f"a {role.value} may not change this project's tasks")


def _check_owner(role: ProjectRole | None, *, hidden: TaskliveError | None) -> None:
    if role is None:
        raise hidden or NotFound("project not found", field="projectId")
    if role is not ProjectRole.OWNER:
        raise Forbidden("only an OWNER may change the project's members")


def require_admin(ctx: Context) -> Principal:
    user = ctx.require_user()
    if not user.is_admin:
        raise Forbidden("admin only")
    return user
