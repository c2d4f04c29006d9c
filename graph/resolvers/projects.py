"""Project queries and membership mutations."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EventType, ProjectRole
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import users as user_repo
from graph.auth.permissions import recheck_owner, require_owner, require_read
from graph.context import Context, Info
from graph.errors import BadUserInput, NotFound
from graph.resolvers.events import publish
from graph.resolvers.inputs import check_text, parse_user_id, parse_uuid
from graph.schema.project import Project, ProjectMember

MAX_NAME = 200


async def list_projects(info: Info) -> list[Project]:
    ctx = info.context
    user = ctx.require_user()
    async with ctx.db.read() as session:
        models = await project_repo.get_all_for_user(
            session, user_id=None if user.is_admin else user.user_id
        )
    return [Project.from_model(m) for m in models]


async def get_project(info: Info, id: strawberry.ID) -> Project | None:
    ctx = info.context
    ctx.require_user()
    project_id = parse_uuid(id, field="id")
    hidden = NotFound("project not found", field="id")
    await require_read(ctx, project_id, hidden=hidden)
    model = await ctx.loaders.project.load(project_id)
    if model is None:
        raise hidden
    return Project.from_model(model)


async def create_project(info: Info, name: str) -> Project:
    ctx = info.context
    user = ctx.require_user()
    clean = name.strip()
    if not 1 <= len(clean) <= MAX_NAME:
        raise BadUserInput(f"name must be 1 to {MAX_NAME} characters", field="name")
    check_text(clean, field="name")
    async with ctx.db.write() as session:
        model = await project_repo.create(session, name=clean, owner_id=user.user_id)
    return Project.from_model(model)


async def add_project_member(
    info: Info,
    project_id: strawberry.ID,
    user_id: strawberry.ID,
    role: ProjectRole | None = ProjectRole.MEMBER,
) -> ProjectMember:
    ctx = info.context
    owner = ctx.require_user()
    pid = parse_uuid(project_id, field="projectId")
    parse_user_id(user_id, field="userId")
    await require_owner(ctx, pid)
    new_role = role or ProjectRole.MEMBER
    row = None
    async with ctx.db.write() as session:
        await _lock_as_owner(ctx, session, pid)
        if await user_repo.get(session, user_id=user_id) is None:
            raise BadUserInput(
                "unknown user: a user exists once they have signed in with a token",
                field="userId",
            )
        current = await project_repo.get_role(session, project_id=pid, user_id=user_id)
        if (
            current is ProjectRole.OWNER
            and new_role is not ProjectRole.OWNER
            and await project_repo.count_owners(session, project_id=pid) <= 1
        ):
            raise BadUserInput("a project must keep at least one OWNER", field="role")
        member = await project_repo.set_member(
            session, project_id=pid, user_id=user_id, role=new_role
        )
        if current is not new_role:
            row = await event_repo.append_membership(
                session,
                project_id=pid,
                type=EventType.MEMBER_ADDED if current is None else EventType.ROLE_CHANGED,
                actor_id=owner.user_id,
                member_id=user_id,
                role=new_role,
            )
    if row is not None:
        await publish(ctx, [row])
    return ProjectMember.from_model(member)


async def remove_project_member(
    info: Info, project_id: strawberry.ID, user_id: strawberry.ID
) -> bool:
    ctx = info.context
    owner = ctx.require_user()
    pid = parse_uuid(project_id, field="projectId")
    parse_user_id(user_id, field="userId")
    await require_owner(ctx, pid)
    async with ctx.db.write() as session:
        await _lock_as_owner(ctx, session, pid)
        current = await project_repo.get_role(session, project_id=pid, user_id=user_id)
        if current is None:
            return False
        if (
            current is ProjectRole.OWNER
            and await project_repo.count_owners(session, project_id=pid) <= 1
        ):
            raise BadUserInput("a project must keep at least one OWNER", field="userId")
        await project_repo.delete_member(session, project_id=pid, user_id=user_id)
        row = await event_repo.append_membership(
            session,
            project_id=pid,
            type=EventType.MEMBER_REMOVED,
            actor_id=owner.user_id,
            member_id=user_id,
            role=None,
        )
    await publish(ctx, [row])
    return True


async def _lock_as_owner(ctx: Context, session: AsyncSession, project_id: str) -> None:
    """Take the project's lock, then check again that the caller is still an OWNER."""
    if await project_repo.lock(session, project_id=project_id) is None:
        raise NotFound("project not found", field="projectId")
    await recheck_owner(ctx, session, project_id)
