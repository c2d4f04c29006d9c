"""DataLoaders built per request: a page of tasks costs one query per kind of relation."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from db.models import Project, ProjectMember, User
from db.repositories import projects as project_repo
from db.repositories import users as user_repo
from db.session import Database


class Loaders:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.user = DataLoader(self._load_users)
        self.project = DataLoader(self._load_projects)
        self.members = DataLoader(self._load_members)

    async def _load_users(self, ids: Sequence[str]) -> list[User | None]:
        async with self._db.read() as session:
            found = {u.id: u for u in await user_repo.get_many(session, user_ids=ids)}
        return [found.get(i) for i in ids]

    async def _load_projects(self, ids: Sequence[str]) -> list[Project | None]:
        async with self._db.read() as session:
            found = {p.id: p for p in await project_repo.get_many(session, project_ids=ids)}
        return [found.get(i) for i in ids]

    async def _load_members(self, ids: Sequence[str]) -> list[list[ProjectMember]]:
        async with self._db.read() as session:
            members = await project_repo.get_members(session, project_ids=ids)
        by_project: dict[str, list[ProjectMember]] = {i: [] for i in ids}
        for member in members:
            by_project[member.project_id].append(member)
        return [by_project[i] for i in ids]
