"""The event log at the database level: atomic with the change, numbered 1..N per project."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from db.models import EventType, Project, ProjectRole, Task, TaskEvent, TaskStatus
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.session import Database


class Boom(RuntimeError):
    pass


async def _project(db: Database, *, owner: str = "alice", name: str = "p") -> str:
    async with db.write() as session:
        await user_repo.upsert(session, user_id=owner, name=owner.title(), email=None)
        project = await project_repo.create(session, name=name, owner_id=owner)
        return project.id


async def _create_task(db: Database, *, project_id: str, title: str, actor: str = "alice") -> str:
    async with db.write() as session:
        task = await task_repo.create(
            session,
            project_id=project_id,
            title=title,
            description=None,
            status=TaskStatus.PENDING,
            assignee_id=None,
            created_by_id=actor,
        )
        await event_repo.append(session, task=task, type=EventType.CREATED, actor_id=actor)
        return task.id


async def _seqs(db: Database, *, project_id: str) -> list[int]:
    async with db.read() as session:
        rows = await event_repo.get_after(session, project_id=project_id, after_seq=0, limit=1000)
    return [row.seq for row in rows]


async def test_a_failed_change_leaves_neither_the_change_nor_its_event(db: Database) -> None:
    project_id = await _project(db)
    task_id = await _create_task(db, project_id=project_id, title="keep me")

    with pytest.raises(Boom):
        async with db.write() as session:
            task = await task_repo.get(session, task_id=task_id, for_update=True)
            assert task is not None
            task.status = TaskStatus.COMPLETED
            task.version += 1
            event = await event_repo.append(
                session,
                task=task,
                type=EventType.UPDATED,
                actor_id="alice",
                changed_fields=["status"],
                previous_status=TaskStatus.PENDING,
            )
            assert event.seq == 2  # flushed inside the transaction...
            raise Boom("after the event row was written")

    async with db.read() as session:  # ...and gone with it
        task = await task_repo.get(session, task_id=task_id)
        assert task is not None
        assert (task.status, task.version) == (TaskStatus.PENDING, 1)
        project = await project_repo.get(session, project_id=project_id)
        assert project is not None and project.event_seq == 1
    assert await _seqs(db, project_id=project_id) == [1]

    # The number the failed transaction took is handed out again: no gap.
    await _create_task(db, project_id=project_id, title="next")
    assert await _seqs(db, project_id=project_id) == [1, 2]


async def test_a_failed_create_leaves_neither_the_task_nor_its_event(db: Database) -> None:
    project_id = await _project(db)

    with pytest.raises(Boom):
        async with db.write() as session:
            task = await task_repo.create(
                session,
                project_id=project_id,
                title="never",
                description=None,
                status=TaskStatus.PENDING,
                assignee_id=None,
                created_by_id="alice",
            )
            await event_repo.append(session, task=task, type=EventType.CREATED, actor_id="alice")
            raise Boom("after the event row was written")

    async with db.read() as session:
        tasks = await session.scalar(select(func.count()).select_from(Task))
        events = await session.scalar(select(func.count()).select_from(TaskEvent))
        seq = await session.scalar(select(Project.event_seq).where(Project.id == project_id))
    assert (tasks, events, seq) == (0, 0, 0)


async def test_events_of_each_project_are_numbered_one_to_n(db: Database) -> None:
    first = await _project(db, name="first")
    second = await _project(db, owner="bob", name="second")

    # Concurrent writers in two projects, each in its own transaction.
    await asyncio.gather(
        *(_create_task(db, project_id=(first, second)[i % 2], title=f"task {i}") for i in range(12))
    )
    for project_id in (first, second):
        assert await _seqs(db, project_id=project_id) == list(range(1, 7))

    async with db.read() as session:
        rows = await event_repo.get_after(session, project_id=first, after_seq=4, limit=10)
        last = await event_repo.last_seqs(session, project_ids=[first, second])
    assert [r.seq for r in rows] == [5, 6]
    assert last == {first: 6, second: 6}
    # Every event row carries the task state after its change.
    assert all(
        r.task_state is not None and r.task_state["version"] == 1 and r.type is EventType.CREATED
        for r in rows
    )


async def test_membership_changes_take_numbers_of_the_log_but_task_reads_skip_them(
    db: Database,
) -> None:
    project_id = await _project(db)
    first = await _create_task(db, project_id=project_id, title="one")
    async with db.write() as session:
        await user_repo.upsert(session, user_id="bob", name="Bob", email=None)
        await project_repo.set_member(
            session, project_id=project_id, user_id="bob", role=ProjectRole.MEMBER
        )
        added = await event_repo.append_membership(
            session,
            project_id=project_id,
            type=EventType.MEMBER_ADDED,
            actor_id="alice",
            member_id="bob",
            role=ProjectRole.MEMBER,
        )
    second = await _create_task(db, project_id=project_id, title="two")
    assert added.seq == 2
    assert await _seqs(db, project_id=project_id) == [1, 3]  # task events only
    async with db.read() as session:
        whole = await event_repo.get_range(session, project_id=project_id, after_seq=0, upto_seq=3)
        changes = await event_repo.get_access_changes(session, after={project_id: 1})
        none_after = await event_repo.get_access_changes(session, after={project_id: 2})
    assert [(e.seq, e.task_id, e.member_id) for e in whole] == [
        (1, first, None),
        (2, None, "bob"),
        (3, second, None),
    ]
    assert [(e.seq, e.type, e.member_role) for e in changes] == [
        (2, EventType.MEMBER_ADDED, ProjectRole.MEMBER)
    ]
    assert none_after == []
