"""Fixtures for database-level tests: a migrated Database on a fresh SQLite file or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from db.migrate import upgrade
from db.session import Database
from tests.conftest import BACKENDS, require_postgres
from tests.support.servers import create_pg_database, drop_pg_database


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    require_postgres()
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'tasklive.db'}"
        return
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    """A Database whose schema is at head, disposed after the test."""
    database = Database.from_url(fresh_database_url)
    try:
        await upgrade(database.engine)
        yield database
    finally:
        await database.dispose()
