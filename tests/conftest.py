"""Fixtures: the real server under uvicorn, on SQLite and on PostgreSQL."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import CodeType

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

# The markers each test gets from what it uses (pytest_collection_modifyitems, below):
# `e2e` a real server or program (uvicorn, the CLI), `postgres` the PostgreSQL server,
# `redis` a redis-server it starts.
E2E_FOLDERS = frozenset({"e2e", "browser", "chaos"})
SERVER_FIXTURES = frozenset({"server", "database_url"})
BACKEND_FIXTURES = ("database_url", "fresh_database_url")  # parametrised by BACKENDS
# Names whose use, by a test, a fixture it uses or a helper of tests/ they call, starts one.
STARTERS = {
    "e2e": frozenset(
        {"make_server", "sqlite_server", "pg_servers", "running_cluster", "ChaosCluster"}
        | {"subprocess"}  # the CLI run as a program
    ),
    "postgres": frozenset(
        {"require_postgres", "create_pg_database", "throwaway_postgres", "pg_servers"}
        | {"running_cluster", "ChaosCluster"}
    ),
    "redis": frozenset({"RedisServer", "redis_binary", "running_cluster", "ChaosCluster"}),
}


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


def _names(code: CodeType) -> set[str]:
    """The global and attribute names a function's code uses, nested functions included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _names(const)
    return names


def _reached(func: object, seen: set[object]) -> set[str]:
    """The names `func` uses, and those of the functions of tests/ it calls, transitively."""
    func = inspect.unwrap(func)  # type: ignore[arg-type]
    if func in seen or not inspect.isfunction(func):
        return set()
    seen.add(func)
    names = _names(func.__code__)
    for name in list(names):
        helper = func.__globals__.get(name)
        if inspect.isfunction(helper) and helper.__module__.startswith("tests."):
            names |= _reached(helper, seen)
    return names


def _reached_names(item: pytest.Function) -> set[str]:
    """What the test and its fixtures reach. A fixture parametrised by backend is left out:
    its parameter (sqlite or postgres) says which one this test runs."""
    seen: set[object] = set()
    names = _reached(item.obj, seen)
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        for definition in definitions:
            if definition.params is None:
                names |= _reached(definition.func, seen)
    return names


def _folders(path: Path) -> tuple[str, ...]:
    """The folders of tests/ that hold `path` (none for a file elsewhere)."""
    tests = Path(__file__).parent
    return path.parent.relative_to(tests).parts if path.is_relative_to(tests) else ()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test by what it needs, so that `-m "not e2e"` runs the fast tiers alone."""
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        folders = set(_folders(item.path))
        names = _reached_names(item)
        params = getattr(item, "callspec", None)
        backends = [params.params.get(f) for f in BACKEND_FIXTURES] if params is not None else []
        serves = SERVER_FIXTURES & set(item.fixturenames) or names & STARTERS["e2e"]
        if folders & E2E_FOLDERS or serves:
            item.add_marker(pytest.mark.e2e)
        if "postgres" in backends or names & STARTERS["postgres"]:
            item.add_marker(pytest.mark.postgres)
        if names & STARTERS["redis"]:
            item.add_marker(pytest.mark.redis)
