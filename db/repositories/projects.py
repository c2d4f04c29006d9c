"""Projects, their members and the per-project event counter."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Project, ProjectMember, ProjectRole


async def get(session: AsyncSession, *, project_id: str) -> Project | None:
    return await session.get(Project, project_id)


async def get_many(session: AsyncSession, *, project_ids: Sequence[str]) -> list[Project]:
    if not project_ids:
        return []
    result = await session.scalars(select(Project).where(Project.id.in_(set(project_ids))))
    return list(result)


async def get_all_for_user(session: AsyncSession, *, user_id: str | None) -> list[Project]:
    """Projects the user belongs to; every project when `user_id` is None (admins)."""
    query = select(Project).order_by(Project.created_at, Project.id)
    if user_id is not None:
        query = query.join(ProjectMember, ProjectMember.project_id == Project.id).where(
            ProjectMember.user_id == user_id
        )
    return list(await session.scalars(query))


async def create(session: AsyncSession, *, name: str, owner_id: str) -> Project:
    project = Project(name=name, created_by_id=owner_id, event_seq=0)
    session.add(project)
    await session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=owner_id, role=ProjectRole.OWNER))
    await session.flush()
    return project


async def get_role(session: AsyncSession, *, project_id: str, user_id: str) -> ProjectRole | None:
    return await session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


async def get_role_at(
    session: AsyncSession, *, project_id: str, user_id: str
) -> tuple[int, ProjectRole | None] | None:
    """The project's last event sequence number and the user's role as of it, in one read;
    None when there is no such project."""
    row = (
        await session.execute(
            select(Project.event_seq, ProjectMember.role)
            .outerjoin(
                ProjectMember,
                (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == user_id),
            )
            .where(Project.id == project_id)
        )
    ).first()
    return None if row is None else (int(row[0]), row[1])


async def get_roles(
    session: AsyncSession, *, project_ids: Sequence[str], user_id: str
) -> dict[str, ProjectRole]:
    rows = await session.execute(
        select(ProjectMember.project_id, ProjectMember.role).where(
            ProjectMember.project_id.in_(set(project_ids)), ProjectMember.user_id == user_id
        )
    )
    return {project_id: role for project_id, role in rows}


async def get_members(session: AsyncSession, *, project_ids: Sequence[str]) -> list[ProjectMember]:
    result = await session.scalars(
        select(ProjectMember)
        .where(ProjectMember.project_id.in_(set(project_ids)))
        .order_by(ProjectMember.created_at, ProjectMember.user_id)
    )
    return list(result)


async def set_member(
    session: AsyncSession, *, project_id: str, user_id: str, role: ProjectRole
) -> ProjectMember:
    member = await session.get(ProjectMember, (project_id, user_id), with_for_update=True)
    if member is None:
        member = ProjectMember(project_id=project_id, user_id=user_id, role=role)
        session.add(member)
    else:
        member.role = role
    await session.flush()
    return member


async def delete_member(session: AsyncSession, *, project_id: str, user_id: str) -> bool:
    result = await session.execute(
        delete(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def count_owners(session: AsyncSession, *, project_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.role == ProjectRole.OWNER)
    )
    return int(count or 0)


async def next_event_seq(session: AsyncSession, *, project_id: str) -> int:
    """Hand out the project's next sequence number, holding its row lock until commit."""
    seq = await session.scalar(
        update(Project)
        .where(Project.id == project_id)
        .values(event_seq=Project.event_seq + 1)
        .returning(Project.event_seq)
    )
    if seq is None:
        raise LookupError(f"project {project_id} vanished")
    return int(seq)


async def lock(session: AsyncSession, *, project_id: str) -> Project | None:
    """Take the project's row lock (serialises membership changes with its writers)."""
    return await session.get(Project, project_id, with_for_update=True, populate_existing=True)
