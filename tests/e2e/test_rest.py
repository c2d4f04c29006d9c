"""The FastAPI side of the app: the operational routes documented at /docs, and the CSV export
of a project's tasks beside GraphQL, authorised by the same token and membership rules."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from db.models import Task, TaskStatus
from db.session import Database
from tests.support.client import GraphQLClient, World, token, unique
from tests.support.servers import ServerProcess, sqlite_server

OPERATIONAL = ("/healthz", "/readyz", "/metrics", "/dev/tokens")
EXPORT = "/projects/{project_id}/tasks.csv"
HEADER = "id,title,description,status,assignee_id,created_by_id,created_at,updated_at,version"
COLUMNS = HEADER.split(",")
PRODUCTION_SECRET = "a-production-secret-nobody-else-knows-0123456789"


def bearer(jwt: str) -> dict[str, str]:
    return {"authorization": f"Bearer {jwt}"}


def export_url(server: ServerProcess, project_id: str) -> str:
    return f"{server.url}/projects/{project_id}/tasks.csv"


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# -- /docs and /openapi.json


async def test_openapi_lists_the_operational_routes_and_the_export(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    reply = await http.get(f"{server.url}/openapi.json")
    assert reply.status_code == 200, reply.text
    spec = reply.json()
    assert set(spec["paths"]) == {*OPERATIONAL, EXPORT}  # GraphQL is described by its schema
    assert {"Health", "Readiness", "DevTokens"} <= set(spec["components"]["schemas"])
    readiness = spec["paths"]["/readyz"]["get"]["responses"]
    assert {"200", "503"} <= set(readiness)
    export = spec["paths"][EXPORT]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    assert export["security"] == [{"HTTPBearer": []}]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"

    docs = await http.get(f"{server.url}/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in docs.text and "/openapi.json" in docs.text


@pytest.mark.parametrize(("docs", "status"), [(None, 404), ("true", 200)], ids=["default", "DOCS"])
async def test_production_serves_no_docs_unless_asked(
    tmp_path: Path, http: httpx.AsyncClient, docs: str | None, status: int
) -> None:
    env = {"TASKLIVE_ENV": "production", "JWT_SECRET": PRODUCTION_SECRET}
    if docs is not None:
        env["DOCS"] = docs
    with sqlite_server(tmp_path, **env) as production:
        for path in ("/docs", "/openapi.json"):
            assert (await http.get(f"{production.url}{path}")).status_code == status, path
        # The routes themselves are there either way.
        assert (await http.get(f"{production.url}/healthz")).json() == {"status": "ok"}


async def test_the_operational_routes_answer_head_and_keep_their_bodies(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    health = await http.get(f"{server.url}/healthz")
    assert health.content == b'{"status":"ok"}'
    ready = await http.get(f"{server.url}/readyz")
    assert list(ready.json()) == ["ready", "database", "broker"]
    metrics = await http.get(f"{server.url}/metrics")
    assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    for path in OPERATIONAL:
        head = await http.head(f"{server.url}{path}")
        assert (head.status_code, head.content) == (200, b""), path


# -- the CSV export


async def test_the_owner_exports_the_rows_in_order(
    server: ServerProcess, world: World, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    titles = ["plain", 'with "quotes", commas', "two\nlines", "ünïcödé ✓", "=1+2"]
    created = [await world.create_task(title) for title in titles]
    await world.create_task("described", description="-the rest", assigneeId=world.ids["member"])
    listed = await gql.data(
        "query($p: ID!) { tasks(projectId: $p, first: 50) { edges { node { id } } } }",
        {"p": world.project_id},
        token=world.tokens["owner"],
    )

    reply = await http.get(
        export_url(server, world.project_id), headers=bearer(world.tokens["owner"])
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["cache-control"] == "no-store"
    assert f'filename="tasks-{world.project_id}.csv"' in reply.headers["content-disposition"]
    assert reply.text.startswith(HEADER + "\r\n")
    header, *rows = parse_csv(reply.text)
    assert header == COLUMNS
    # The order of every task list: GraphQL's.
    assert [row[0] for row in rows] == [e["node"]["id"] for e in listed["tasks"]["edges"]]
    assert [row[0] for row in rows[:5]] == [task["id"] for task in created]
    # A cell a spreadsheet would run as a formula is quoted into text.
    assert [row[1] for row in rows] == [*titles[:4], "'=1+2", "described"]
    first, last = (
        dict(zip(COLUMNS, rows[0], strict=True)),
        dict(zip(COLUMNS, rows[-1], strict=True)),
    )
    assert (first["status"], first["version"], first["description"]) == ("PENDING", "1", "")
    assert first["created_by_id"] == world.ids["owner"] and first["assignee_id"] == ""
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None
    assert (last["description"], last["assignee_id"]) == ("'-the rest", world.ids["member"])


async def test_a_viewer_may_export(
    server: ServerProcess, world: World, http: httpx.AsyncClient
) -> None:
    task = await world.create_task("seen by the viewer")
    url = export_url(server, world.project_id)
    reply = await http.get(url, headers=bearer(world.tokens["viewer"]))
    assert reply.status_code == 200, reply.text
    assert [row[0] for row in parse_csv(reply.text)[1:]] == [task["id"]]
    owners = await http.get(url, headers=bearer(world.tokens["owner"]))
    assert owners.content == reply.content


async def test_an_outsider_gets_the_404_of_a_missing_project(
    server: ServerProcess, world: World, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    await world.create_task("secret")
    outsider = bearer(world.tokens["outsider"])
    hidden = await http.get(export_url(server, world.project_id), headers=outsider)
    missing = await http.get(export_url(server, str(uuid.uuid4())), headers=outsider)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content  # nothing tells the two apart
    assert hidden.json() == {"detail": "project not found"}
    # As GraphQL answers the same user.
    error = await gql.error(
        "query($p: ID!) { tasks(projectId: $p) { totalCount } }",
        {"p": world.project_id},
        token=world.tokens["outsider"],
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    # An admin sees every project, and still gets 404 for one that does not exist.
    admin = bearer(token(unique("admin"), admin=True))
    assert (await http.get(export_url(server, world.project_id), headers=admin)).status_code == 200
    assert (await http.get(export_url(server, str(uuid.uuid4())), headers=admin)).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer not-a-jwt"},
        bearer(token("expired", ttl=timedelta(seconds=-60))),
    ],
    ids=["no-token", "malformed", "expired"],
)
async def test_without_a_valid_token_401(
    server: ServerProcess, world: World, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    reply = await http.get(export_url(server, world.project_id), headers=headers)
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["detail"]


async def test_a_malformed_project_id_is_422(
    server: ServerProcess, world: World, http: httpx.AsyncClient
) -> None:
    reply = await http.get(export_url(server, "not-a-uuid"), headers=bearer(world.tokens["owner"]))
    assert reply.status_code == 422


async def test_a_large_export_streams_every_row_once_across_pages(
    server: ServerProcess, database_url: str, world: World, http: httpx.AsyncClient
) -> None:
    """1,201 rows, written straight to the database (past the mutation rate limit): most share
    one `created_at`, so the pages of 500 break ties by id, at their edges too."""
    db = Database.from_url(database_url)
    tie = datetime(2030, 1, 1, tzinfo=UTC)
    try:
        async with db.write() as session:
            for i in range(1201):
                session.add(
                    Task(
                        project_id=world.project_id,
                        title=f"bulk {i}",
                        status=TaskStatus.PENDING,
                        created_by_id=world.ids["owner"],
                        created_at=tie if i % 7 else tie - timedelta(seconds=i),
                        updated_at=tie,
                        version=1,
                    )
                )
    finally:
        await db.dispose()

    async with http.stream(
        "GET", export_url(server, world.project_id), headers=bearer(world.tokens["member"])
    ) as reply:
        assert reply.status_code == 200
        assert "content-length" not in reply.headers  # streamed, not built whole
        body = "".join([chunk async for chunk in reply.aiter_text()])
    rows = parse_csv(body)[1:]
    assert len(rows) == 1201
    keys = [(datetime.fromisoformat(row[6]), row[0]) for row in rows]
    assert keys == sorted(keys)
    assert len({row[0] for row in rows}) == 1201
