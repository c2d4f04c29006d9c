"""`tasklive migrate` on both databases, and what `tasklive serve` does with a schema behind."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from alembic import command as alembic_command
from sqlalchemy import Connection, inspect, text

from db.migrate import SchemaState, alembic_config, schema_state
from db.models import EventType, TaskEvent
from db.repositories import events as event_repo
from db.repositories import users as user_repo
from db.session import Database
from tests.support.client import token
from tests.support.servers import free_port, make_server, server_env

TASKLIVE = str(Path(sys.executable).with_name("tasklive"))
PROJECT = "00000000-0000-4000-8000-000000000001"
TASK = "00000000-0000-4000-8000-000000000002"
TABLES = {"alembic_version", "users", "projects", "project_members", "tasks", "task_events"}


def tasklive(command: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TASKLIVE, command],
        env=server_env(database_url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def migrate(database_url: str, cwd: Path) -> str:
    done = tasklive("migrate", database_url, cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _inspect(database_url: str) -> tuple[SchemaState, set[str], int]:
    """The schema revision, the tables, and how many users are stored."""
    db = Database.from_url(database_url)
    try:
        state = await schema_state(db.engine)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            users = 0
            if "users" in tables:
                users = int((await conn.execute(text("SELECT count(*) FROM users"))).scalar_one())
    finally:
        await db.dispose()
    return state, tables, users


def inspect_database(database_url: str) -> tuple[SchemaState, set[str], int]:
    return asyncio.run(_inspect(database_url))


async def _add_user(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        async with db.write() as session:
            await user_repo.upsert(session, user_id="kept", name="Kept", email=None)
    finally:
        await db.dispose()


def test_migrate_creates_the_schema_and_a_second_run_is_a_no_op(
    fresh_database_url: str, tmp_path: Path
) -> None:
    state, tables, _ = inspect_database(fresh_database_url)
    assert state.current is None and not tables & TABLES

    first = migrate(fresh_database_url, tmp_path)
    state, tables, _ = inspect_database(fresh_database_url)
    assert state.up_to_date and state.current is not None
    assert tables >= TABLES
    assert f"schema: empty -> {state.head}" in first

    asyncio.run(_add_user(fresh_database_url))
    second = migrate(fresh_database_url, tmp_path)
    assert f"schema: {state.head} -> {state.head}" in second
    assert inspect_database(fresh_database_url) == (state, tables, 1)


def test_serve_refuses_a_postgres_schema_that_is_behind(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    server = make_server(tmp_path, fresh_postgres_url)
    server.start(wait=False)
    assert server.proc is not None
    try:
        code = server.proc.wait(timeout=30)
    finally:
        server.stop()
    assert code != 0
    assert "run `tasklive migrate`" in server.log(), server.log()
    demo = tasklive("demo", fresh_postgres_url, tmp_path)
    assert demo.returncode != 0 and "run `tasklive migrate`" in demo.stderr
    assert "Traceback" not in demo.stderr
    state, tables, _ = inspect_database(fresh_postgres_url)
    assert state.current is None and not tables & TABLES  # nothing was touched


def test_serve_migrates_a_fresh_sqlite_file_on_first_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'first-start.db'}"
    server = make_server(tmp_path, url)
    server.start()
    try:
        reply = httpx.post(
            server.graphql_url,
            json={"query": "{ me { id name } }"},
            headers={"authorization": f"Bearer {token('dora', name='Dora')}"},
            timeout=10,
        )
    finally:
        server.stop()
    assert reply.json() == {"data": {"me": {"id": "dora", "name": "Dora"}}}
    state, tables, users = inspect_database(url)
    assert state.up_to_date and tables >= TABLES and users == 1


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{free_port()}/nowhere"
    for command in ("migrate", "serve"):
        done = tasklive(command, url, tmp_path)
        assert done.returncode != 0
        [line] = done.stderr.splitlines()
        assert line.startswith("tasklive: cannot use the database postgresql+asyncpg://postgres:")
        assert "127.0.0.1" in line and "hunter2" not in line


async def _move_to(database_url: str, revision: str, *, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (alembic_command.downgrade if down else alembic_command.upgrade)(config, revision)

    db = Database.from_url(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await db.dispose()


async def _seed_events_at_0001(database_url: str) -> None:
    """A project with a task and two events, written as revision 0001 stored them."""
    db = Database.from_url(database_url)
    now = datetime.now(UTC)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, name, email, created_at, updated_at) "
                    "VALUES ('olga', 'Olga', NULL, :now, :now), ('pim', 'Pim', NULL, :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO projects (id, name, created_by_id, created_at, event_seq) "
                    "VALUES (:p, 'kept', 'olga', :now, 2)"
                ),
                {"p": PROJECT, "now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO project_members (project_id, user_id, role, created_at) "
                    "VALUES (:p, 'olga', 'OWNER', :now), (:p, 'pim', 'MEMBER', :now)"
                ),
                {"p": PROJECT, "now": now},
            )
            for seq, kind in ((1, "CREATED"), (2, "UPDATED")):
                await conn.execute(
                    text(
                        "INSERT INTO task_events (project_id, seq, task_id, type, actor_id, "
                        "occurred_at, changed_fields, previous_status, task_state) VALUES "
                        "(:p, :seq, :t, :kind, 'olga', :now, '[]', NULL, :state)"
                    ),
                    {
                        "p": PROJECT,
                        "seq": seq,
                        "t": TASK,
                        "kind": kind,
                        "now": now,
                        "state": json.dumps({"id": TASK, "version": seq}),
                    },
                )
    finally:
        await db.dispose()


async def _log_after_upgrade(database_url: str) -> tuple[list[TaskEvent], list[TaskEvent]]:
    """Task events as before, and the whole log once a member was removed."""
    db = Database.from_url(database_url)
    try:
        async with db.write() as session:
            removal = await event_repo.append_membership(
                session,
                project_id=PROJECT,
                type=EventType.MEMBER_REMOVED,
                actor_id="olga",
                member_id="pim",
                role=None,
            )
            assert removal.seq == 3
        async with db.read() as session:
            tasks = await event_repo.get_after(session, project_id=PROJECT, after_seq=0, limit=10)
            everything = await event_repo.get_range(
                session, project_id=PROJECT, after_seq=0, upto_seq=10
            )
    finally:
        await db.dispose()
    return tasks, everything


def test_upgrade_keeps_the_events_of_an_existing_database(
    fresh_database_url: str, tmp_path: Path
) -> None:
    asyncio.run(_move_to(fresh_database_url, "0001"))
    asyncio.run(_seed_events_at_0001(fresh_database_url))
    migrate(fresh_database_url, tmp_path)
    assert inspect_database(fresh_database_url)[0].up_to_date
    tasks, everything = asyncio.run(_log_after_upgrade(fresh_database_url))
    assert [(e.seq, e.type, e.task_id, e.task_state) for e in tasks] == [
        (1, EventType.CREATED, TASK, {"id": TASK, "version": 1}),
        (2, EventType.UPDATED, TASK, {"id": TASK, "version": 2}),
    ]
    assert [(e.seq, e.type, e.task_id, e.member_id, e.member_role) for e in everything] == [
        (1, EventType.CREATED, TASK, None, None),
        (2, EventType.UPDATED, TASK, None, None),
        (3, EventType.MEMBER_REMOVED, None, "pim", None),
    ]

    # And back: the membership changes go, the task events stay.
    asyncio.run(_move_to(fresh_database_url, "0001", down=True))
    assert asyncio.run(_event_types(fresh_database_url)) == ["CREATED", "UPDATED"]


async def _event_types(database_url: str) -> list[str]:
    db = Database.from_url(database_url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT type FROM task_events ORDER BY seq"))
            return [str(row[0]) for row in rows]
    finally:
        await db.dispose()
