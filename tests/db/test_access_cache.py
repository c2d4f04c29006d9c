"""The access cache is bounded by the log: `check` drops what a later event changed."""

from __future__ import annotations

from datetime import UTC, datetime

from db.models import EventType, ProjectRole, TaskStatus
from db.repositories import events as event_repo
from db.repositories import projects as project_repo
from db.repositories import tasks as task_repo
from db.repositories import users as user_repo
from db.session import Database
from graph.realtime.access import AccessCache
from graph.realtime.records import EventRecord


async def _world(db: Database) -> tuple[str, str]:
    """A project of alice (OWNER) and bob (MEMBER) with one task."""
    async with db.write() as session:
        for user_id in ("alice", "bob"):
            await user_repo.upsert(session, user_id=user_id, name=user_id, email=None)
        project = await project_repo.create(session, name="p", owner_id="alice")
        await project_repo.set_member(
            session, project_id=project.id, user_id="bob", role=ProjectRole.MEMBER
        )
        task = await task_repo.create(
            session,
            project_id=project.id,
            title="t",
            description=None,
            status=TaskStatus.PENDING,
            assignee_id=None,
            created_by_id="alice",
        )
        await event_repo.append(session, task=task, type=EventType.CREATED, actor_id="alice")
        return project.id, task.id


async def test_a_removal_the_broker_lost_is_dropped_by_the_next_check(db: Database) -> None:
    project_id, task_id = await _world(db)
    cache = AccessCache(db)
    assert await cache.role("bob", project_id) is ProjectRole.MEMBER
    assert await cache.role("alice", project_id) is ProjectRole.OWNER
    assert await cache.task_project(task_id) == project_id

    # Another instance removes bob and deletes the task; nothing reaches this cache.
    async with db.write() as session:
        await project_repo.lock(session, project_id=project_id)
        await project_repo.delete_member(session, project_id=project_id, user_id="bob")
        await event_repo.append_membership(
            session,
            project_id=project_id,
            type=EventType.MEMBER_REMOVED,
            actor_id="alice",
            member_id="bob",
            role=None,
        )
        task = await task_repo.get(session, task_id=task_id, for_update=True)
        assert task is not None
        await event_repo.append(session, task=task, type=EventType.DELETED, actor_id="alice")
        await task_repo.delete_one(session, task_id=task_id)
    assert await cache.role("bob", project_id) is ProjectRole.MEMBER  # stale, until checked

    await cache.check()
    assert await cache.role("bob", project_id) is None
    assert await cache.task_project(task_id) is None
    assert await cache.role("alice", project_id) is ProjectRole.OWNER


def _membership(project_id: str, *, seq: int, type: EventType) -> EventRecord:
    """A change of bob's membership, as heard from the broker."""
    return EventRecord(
        project_id=project_id,
        seq=seq,
        task_id=None,
        type=type,
        actor_id="alice",
        occurred_at=datetime.now(UTC),
        member_id="bob",
    )


async def test_an_event_heard_drops_only_entries_read_before_it(db: Database) -> None:
    project_id, _ = await _world(db)
    cache = AccessCache(db)
    assert await cache.role("bob", project_id) is ProjectRole.MEMBER  # read at seq 1
    cache.forget(_membership(project_id, seq=1, type=EventType.MEMBER_REMOVED))
    async with db.write() as session:  # the cache must now read again: make it see a change
        await project_repo.set_member(
            session, project_id=project_id, user_id="bob", role=ProjectRole.VIEWER
        )
    assert await cache.role("bob", project_id) is ProjectRole.MEMBER  # seq 1 read saw seq 1
    cache.forget(_membership(project_id, seq=2, type=EventType.ROLE_CHANGED))
    assert await cache.role("bob", project_id) is ProjectRole.VIEWER


async def test_a_guarded_read_takes_no_entry_older_than_what_was_delivered(db: Database) -> None:
    project_id, _ = await _world(db)
    cache = AccessCache(db)
    assert await cache.role("bob", project_id) is ProjectRole.MEMBER  # read at seq 1
    async with db.write() as session:  # changed behind the cache's back, at seq 1 still
        await project_repo.set_member(
            session, project_id=project_id, user_id="bob", role=ProjectRole.VIEWER
        )
    assert await cache.role("bob", project_id, since=1) is ProjectRole.MEMBER
    assert await cache.role("bob", project_id, since=2) is ProjectRole.VIEWER  # read again
