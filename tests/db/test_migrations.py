"""`tasklive migrate` on both databases, and what `tasklive serve` does with a schema behind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import inspect, text

from db.migrate import SchemaState, schema_state
from db.repositories import users as user_repo
from db.session import Database
from tests.support.client import token
from tests.support.servers import free_port, make_server, server_env

TASKLIVE = str(Path(sys.executable).with_name("tasklive"))
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
