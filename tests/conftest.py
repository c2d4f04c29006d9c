"""Fixtures: the real server under uvicorn, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient, World
from tests.support.servers import (
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    in_ci,
    make_server,
    postgres_available,
)

BACKENDS = ["sqlite", "postgres"]


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI needs PostgreSQL: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database of each kind for the session's server."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "tasklive.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    require_postgres()
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The app under uvicorn, shared by the tests of one backend (each test makes its own users
    and projects, so no test sees another's data)."""
    tmp = tmp_path_factory.mktemp("server")
    if not database_url.startswith("sqlite"):
        migrate = make_server(tmp, database_url)
        import subprocess
        import sys

        subprocess.run(
            [sys.executable, "-m", "graph.cli", "migrate"], env=migrate.env, check=True, timeout=60
        )
    proc = make_server(tmp, database_url)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


@pytest.fixture
def gql(server: ServerProcess, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(server.graphql_url, http)


@pytest.fixture
async def world(gql: GraphQLClient) -> World:
    return await World(gql).setup()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
