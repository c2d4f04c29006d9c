"""The web build served at `/`, GraphiQL from it at `/graphql`, and the demo sign-in endpoint.

These use a stand-in build (a few files in a temporary WEB_DIST); tests/browser drives the
real one in a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.servers import ServerProcess, sqlite_server

BOARD = "<!doctype html><title>stand-in board</title>"
GRAPHIQL = "<!doctype html><title>stand-in graphiql</title><div id='graphiql'></div>"
ASSET = "console.log('stand-in asset')"
HTML = {"accept": "text/html"}
PRODUCTION_SECRET = "a-production-secret-nobody-else-knows-0123456789"


def stand_in_build(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(BOARD)
    (dist / "graphiql.html").write_text(GRAPHIQL)
    (dist / "assets" / "board-0a1b2c.js").write_text(ASSET)
    return dist


def serve(
    factory: pytest.TempPathFactory, name: str, *, dist: Path, **env: str
) -> AbstractContextManager[ServerProcess]:
    return sqlite_server(factory.mktemp(name), WEB_DIST=str(dist), **env)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    dist = stand_in_build(tmp_path_factory.mktemp("web"))
    with serve(tmp_path_factory, "built", dist=dist) as server:
        yield server


@pytest.fixture(scope="module")
def unbuilt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    empty = tmp_path_factory.mktemp("empty") / "dist"
    with serve(tmp_path_factory, "unbuilt", dist=empty) as server:
        yield server


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    dist = stand_in_build(tmp_path_factory.mktemp("web"))
    with serve(
        tmp_path_factory,
        "production",
        dist=dist,
        TASKLIVE_ENV="production",
        JWT_SECRET=PRODUCTION_SECRET,
    ) as server:
        yield server


async def test_dev_tokens_sign_in_the_demo_users(
    built: ServerProcess, http: httpx.AsyncClient
) -> None:
    reply = await http.get(f"{built.url}/dev/tokens")
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    users = reply.json()["users"]
    assert [(u["id"], u["name"], u["role"]) for u in users] == [
        ("alice", "Alice", "OWNER"),
        ("bob", "Bob", "MEMBER"),
        ("carol", "Carol", "VIEWER"),
    ]
    client = GraphQLClient(built.graphql_url, http)
    for user in users:
        me = await client.data("{ me { id name } }", token=user["token"])
        assert me == {"me": {"id": user["id"], "name": user["name"]}}


async def test_production_has_no_dev_tokens_and_no_graphiql(
    production: ServerProcess, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"{production.url}/dev/tokens")).status_code == 404
    page = await http.get(production.graphql_url, headers=HTML)
    assert "graphiql" not in page.text.lower()
    # The board itself is a client like any other: it is served, and signs in with a token.
    board = await http.get(f"{production.url}/")
    assert (board.status_code, board.text) == (200, BOARD)


@pytest.mark.parametrize(
    ("env", "served"),
    [
        ({"TASKLIVE_ENV": "development", "JWT_SECRET": PRODUCTION_SECRET}, False),
        ({"TASKLIVE_ENV": "development", "JWT_SECRET": PRODUCTION_SECRET, "DEV_TOKENS": "1"}, True),
        ({"TASKLIVE_ENV": "production", "JWT_SECRET": PRODUCTION_SECRET, "DEV_TOKENS": "1"}, False),
    ],
    ids=["own-secret", "own-secret-asked-for", "production-asked-for"],
)
async def test_dev_tokens_only_with_the_development_secret_unless_asked_for(
    tmp_path_factory: pytest.TempPathFactory,
    http: httpx.AsyncClient,
    env: dict[str, str],
    served: bool,
) -> None:
    """A server given a real secret but left in development mode must not hand out tokens
    signed with it to whoever asks."""
    dist = stand_in_build(tmp_path_factory.mktemp("web"))
    with serve(tmp_path_factory, "tokens", dist=dist, **env) as server:
        reply = await http.get(f"{server.url}/dev/tokens")
    assert reply.status_code == (200 if served else 404)


async def test_the_board_and_graphiql_come_from_the_build(
    built: ServerProcess, http: httpx.AsyncClient
) -> None:
    board = await http.get(f"{built.url}/")
    assert (board.status_code, board.text) == (200, BOARD)
    assert board.headers["content-type"].startswith("text/html")
    assert board.headers["cache-control"] == "no-cache"

    asset = await http.get(f"{built.url}/assets/board-0a1b2c.js")
    assert (asset.status_code, asset.text) == (200, ASSET)
    assert "immutable" in asset.headers["cache-control"]

    page = await http.get(built.graphql_url, headers=HTML)
    assert (page.status_code, page.text) == (200, GRAPHIQL)
    assert page.headers["content-type"].startswith("text/html")

    assert (await http.get(f"{built.url}/assets/missing.js")).status_code == 404
    assert (await http.get(f"{built.url}/healthz")).json() == {"status": "ok"}


async def test_without_a_build_the_server_says_how_to_build_it(
    unbuilt: ServerProcess, http: httpx.AsyncClient
) -> None:
    board = await http.get(f"{unbuilt.url}/")
    assert board.status_code == 404
    assert "npm --prefix web run build" in board.text
    assert (await http.get(f"{unbuilt.url}/elsewhere")).text == "Not Found"

    # Strawberry's own GraphiQL page (its assets from a CDN) stands in.
    page = await http.get(unbuilt.graphql_url, headers=HTML)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert page.text != GRAPHIQL
    assert (await http.get(f"{unbuilt.url}/dev/tokens")).status_code == 200
