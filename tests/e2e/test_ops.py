"""Operations: liveness, readiness that follows the database, and the access log."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import require_postgres
from tests.support.client import token, unique
from tests.support.polling import eventually
from tests.support.servers import (
    PG_ADMIN_DSN,
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    make_server,
)

DEADLINE = 20.0


async def test_healthz_and_readyz(server: ServerProcess, http: httpx.AsyncClient) -> None:
    health = await http.get(f"{server.url}/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await http.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True and ready.json()["database"] == "ok"


# -- readiness follows the database


async def _admin(statement: str) -> None:
    conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def own_pg_server(tmp_path: Path) -> Iterator[tuple[str, ServerProcess]]:
    """A server on a PostgreSQL database of its own, which the test may take away."""
    require_postgres()
    name, url = create_pg_database()
    server = make_server(tmp_path, url)
    try:
        subprocess.run(
            [sys.executable, "-m", "graph.cli", "migrate"],
            env=server.env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        server.start()
        yield name, server
    finally:
        server.stop()
        drop_pg_database(name)


async def test_readyz_is_503_while_the_database_is_unreachable(
    own_pg_server: tuple[str, ServerProcess], http: httpx.AsyncClient
) -> None:
    name, server = own_pg_server

    async def readiness(expected: int) -> httpx.Response | None:
        response = await http.get(f"{server.url}/readyz")
        return response if response.status_code == expected else None

    await eventually(lambda: readiness(200), timeout=DEADLINE, what="ready before the outage")
    await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        await _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        down = await eventually(
            lambda: readiness(503), timeout=DEADLINE, what="/readyz to report the outage"
        )
        assert down.json()["ready"] is False
        assert down.json()["database"].startswith("unreachable")
        assert (await http.get(f"{server.url}/healthz")).status_code == 200
    finally:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    up = await eventually(lambda: readiness(200), timeout=DEADLINE, what="/readyz to recover")
    assert up.json()["database"] == "ok"


# -- the access log


def _access_lines(log: str, request_id: str) -> list[str]:
    return [line for line in log.splitlines() if "tasklive.access" in line and request_id in line]


async def _wait_for_lines(server: ServerProcess, request_id: str) -> list[str]:
    async def lines() -> list[str]:
        return _access_lines(server.log(), request_id)

    return list(
        await eventually(lines, timeout=DEADLINE, what=f"the access line of request {request_id}")
    )


async def _named_request(
    http: httpx.AsyncClient, server: ServerProcess, *, user: str, operation: str
) -> str:
    response = await http.post(
        server.graphql_url,
        json={"query": f"query {operation} {{ me {{ id }} }}"},
        headers={"authorization": f"Bearer {token(user)}"},
    )
    assert response.status_code == 200 and response.json()["data"] == {"me": {"id": user}}
    request_id = response.headers["x-request-id"]
    assert request_id
    return request_id


async def test_one_access_line_per_request(server: ServerProcess, http: httpx.AsyncClient) -> None:
    user = unique("logged")
    requests = {
        await _named_request(http, server, user=user, operation=f"Op{i}"): f"Op{i}"
        for i in range(3)
    }
    assert len(requests) == 3  # a fresh id per request
    for request_id, operation in requests.items():
        [line] = await _wait_for_lines(server, request_id)
        assert f"[{request_id}]" in line
        assert f"user={user}" in line and f"ops={operation}" in line
        assert " POST /graphql 200 " in line
        duration = line.split(" 200 ", 1)[1].split("ms", 1)[0]
        assert float(duration) >= 0


async def test_json_access_log(tmp_path: Path, http: httpx.AsyncClient) -> None:
    server = make_server(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'json.db'}", LOG_JSON="true")
    server.start()
    try:
        user = unique("json")
        request_id = await _named_request(http, server, user=user, operation="JsonOp")
        [line] = await _wait_for_lines(server, request_id)
    finally:
        server.stop()
    entry = json.loads(line)
    assert entry["logger"] == "tasklive.access"
    assert entry["request_id"] == request_id
    assert entry["user"] == user and entry["operations"] == ["JsonOp"]
    assert (entry["path"], entry["status"]) == ("/graphql", 200)
    assert isinstance(entry["duration_ms"], float | int) and entry["duration_ms"] >= 0
    for raw in server.log().splitlines():
        if raw.strip():
            assert isinstance(json.loads(raw), dict), raw
