"""DataLoaders built per request: a page of tasks costs one query per kind of relation,
and the pages of tasks of many projects (`Project.tasks` under a list) cost two."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db.models import Project, ProjectMember, TaskStatus, User
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.repositories.tasks import TaskPage

ReadSession = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True, slots=True)
class TaskPageKey:
    """One project's page of tasks; keys that differ only in the project load together."""

    project_id: str
    first: int
    after: tuple[datetime, str] | None = None
    status: TaskStatus | None = None
    assignee_id: str | None = None


class Loaders:
    def __init__(self, read: ReadSession) -> None:
        self._read = read
        self.user = DataLoader(self._load_users)
        self.project = DataLoader(self._load_projects)
        self.members = DataLoader(self._load_members)
        self.task_page = DataLoader(self._load_task_pages)

    async def _load_users(self, ids: Sequence[str]) -> list[User | None]:
        async with self._read() as session:
            found = {u.id: u for u in await user_repo.get_many(session, user_ids=ids)}
        return [found.get(i) for i in ids]

    async def _load_projects(self, ids: Sequence[str]) -> list[Project | None]:
        async with self._read() as session:
            found = {p.id: p for p in await project_repo.get_many(session, project_ids=ids)}
        return [found.get(i) for i in ids]

    async def _load_members(self, ids: Sequence[str]) -> list[list[ProjectMember]]:
        async with self._read() as session:
            members = await project_repo.get_members(session, project_ids=ids)
        by_project: dict[str, list[ProjectMember]] = {i: [] for i in ids}
        for member in members:
            by_project[member.project_id].append(member)
        return [by_project[i] for i in ids]

    async def _load_task_pages(self, keys: Sequence[TaskPageKey]) -> list[TaskPage]:
        projects_by_page: defaultdict[TaskPageKey, list[str]] = defaultdict(list)
        for key in keys:
            projects_by_page[replace(key, project_id="")].append(key.project_id)
        pages: dict[TaskPageKey, TaskPage] = {}
        async with self._read() as session:
            for page, project_ids in projects_by_page.items():
                found = await task_repo.get_pages(
                    session,
                    project_ids=project_ids,
                    first=page.first,
                    after=page.after,
                    status=page.status,
                    assignee_id=page.assignee_id,
                )
                for project_id, result in found.items():
                    pages[replace(page, project_id=project_id)] = result
        return [pages[key] for key in keys]
