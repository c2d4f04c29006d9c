"""Production mode: the checks it turns on, against the development defaults."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph.settings import DEV_JWT_SECRET
from tests.support.client import GraphQLClient, unique
from tests.support.keys import claims, sign
from tests.support.servers import ServerProcess, free_port, make_server, server_env

PRODUCTION_SECRET = "a-production-secret-nobody-else-knows-0123456789"
INTROSPECTION = "{ __schema { types { name } } }"
DEV_SECRET_WARNING = "using the built-in development JWT secret"
HTML = {"accept": "text/html"}


def sqlite_url(tmp: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp}/t.db"


@pytest.mark.parametrize("secret", [None, DEV_JWT_SECRET], ids=["unset", "set-to-the-dev-one"])
def test_production_refuses_the_development_secret(tmp_path: Path, secret: str | None) -> None:
    env = server_env(sqlite_url(tmp_path), TASKLIVE_ENV="production")
    del env["JWT_SECRET"]
    if secret is not None:
        env["JWT_SECRET"] = secret
    # cwd: no stray `.env` of the developer's may supply a secret.
    result = subprocess.run(
        [sys.executable, "-m", "graph.cli", "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "JWT_SECRET" in output
    assert "Traceback" not in output, output


def start(
    factory: pytest.TempPathFactory, name: str, *, unset: list[str], **env: str
) -> ServerProcess:
    tmp = factory.mktemp(name)
    server = make_server(tmp, sqlite_url(tmp), **env)
    for variable in unset:
        del server.env[variable]
    server.start()
    return server


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start(
        tmp_path_factory,
        "production",
        unset=[],
        TASKLIVE_ENV="production",
        JWT_SECRET=PRODUCTION_SECRET,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def development(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Everything left at its default: TASKLIVE_ENV and JWT_SECRET unset."""
    server = start(tmp_path_factory, "development", unset=["TASKLIVE_ENV", "JWT_SECRET"])
    try:
        yield server
    finally:
        server.stop()


async def test_production_starts_with_its_own_secret(
    production: ServerProcess, http: httpx.AsyncClient
) -> None:
    log = production.log()
    assert "env=production" in log
    assert DEV_SECRET_WARNING not in log
    sub = unique("prod")
    client = GraphQLClient(production.graphql_url, http)
    me = await client.data("{ me { id } }", token=sign(claims(sub), PRODUCTION_SECRET, alg="HS256"))
    assert me == {"me": {"id": sub}}
    # The development secret signs nothing here.
    error = await client.error(
        "{ me { id } }", token=sign(claims(sub), DEV_JWT_SECRET, alg="HS256")
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_production_turns_graphiql_and_introspection_off(
    production: ServerProcess, http: httpx.AsyncClient
) -> None:
    page = await http.get(production.graphql_url, headers=HTML)
    assert not page.headers.get("content-type", "").startswith("text/html"), page.text[:500]
    assert "graphiql" not in page.text.lower()

    client = GraphQLClient(production.graphql_url, http)
    jwt = sign(claims(unique("prod")), PRODUCTION_SECRET, alg="HS256")
    for query in (INTROSPECTION, '{ __type(name: "Task") { name } }'):
        for token in (None, jwt):
            body = await client.post(query, token=token)
            assert body.get("data") is None, body
            assert body["errors"], body
            assert all("introspection" in e["message"] for e in body["errors"]), body


async def test_development_defaults_warn_and_serve_graphiql_and_introspection(
    development: ServerProcess, http: httpx.AsyncClient
) -> None:
    log = development.log()
    assert "env=development" in log
    warning = [line for line in log.splitlines() if DEV_SECRET_WARNING in line]
    assert len(warning) == 1, log
    assert "WARNING" in warning[0]

    page = await http.get(development.graphql_url, headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()

    client = GraphQLClient(development.graphql_url, http)
    data = await client.data(INTROSPECTION)
    assert "Task" in {t["name"] for t in data["__schema"]["types"]}

    # On the defaults, the development secret is the one that signs.
    sub = unique("dev")
    me = await client.data("{ me { id } }", token=sign(claims(sub), DEV_JWT_SECRET, alg="HS256"))
    assert me == {"me": {"id": sub}}
