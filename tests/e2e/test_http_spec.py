"""The GraphQL over HTTP spec: its own audit suite (graphql-http), and the rules behind it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.client import token
from tests.support.servers import ServerProcess, in_ci

AUDIT_DIR = Path(__file__).parents[1] / "http_audit"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if in_ci():
            pytest.fail(f"CI needs {name} (Node.js) for the GraphQL over HTTP audits")
        pytest.skip(f"{name} is not installed: the GraphQL over HTTP audits need Node.js")
    return path


@pytest.fixture(scope="session")
def audit_script() -> Path:
    node_modules = AUDIT_DIR / "node_modules" / "graphql-http"
    if not node_modules.exists():
        subprocess.run(
            [_tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=AUDIT_DIR,
            check=True,
            timeout=300,
        )
    return AUDIT_DIR / "audit.mjs"


def test_every_audit_of_the_graphql_over_http_spec_passes(
    server: ServerProcess, audit_script: Path
) -> None:
    run = subprocess.run(
        [_tool("node"), str(audit_script), server.graphql_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    failing = [r for r in results if r["status"] != "ok"]
    print(f"GraphQL over HTTP audits: {len(results)} run, {len(results) - len(failing)} ok")
    assert len(results) >= 50  # MUST and SHOULD audits; a broken run yields none
    assert failing == []


async def _post(server: ServerProcess, body: object, accept: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token('spec-user')}"}
    if accept is not None:
        headers["accept"] = accept
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(server.graphql_url, json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ me { id "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ me { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query($id: ID!) { task(id: $id) { id } }", "variables": {"id": 3.5}},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_a_request_that_never_runs_is_a_400_under_the_graphql_media_type(
    server: ServerProcess, body: object, code: str
) -> None:
    reply = await _post(server, body, f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9")
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    payload = reply.json()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == code

    legacy = await _post(server, body, "application/json")
    assert legacy.status_code == 200  # the spec's rule for application/json clients
    assert legacy.headers["content-type"].startswith("application/json")
    assert legacy.json()["errors"][0]["extensions"]["code"] == code


async def test_a_field_error_is_still_a_200_with_data(server: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(
            server.graphql_url,
            json={"query": "{ me { id } }"},
            headers={"accept": GRAPHQL_RESPONSE_JSON},
        )
    assert reply.status_code == 200
    payload = reply.json()
    assert payload["data"] is None  # `me` is non-null: its error nulls the whole result
    assert payload["errors"][0]["path"] == ["me"]
    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.9, application/json;q=0.8", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; q=bogus, application/json", "application/json"),
    ],
)
async def test_the_reply_has_the_media_type_the_client_prefers(
    server: ServerProcess, accept: str | None, media_type: str
) -> None:
    reply = await _post(server, {"query": "{ me { id } }"}, accept)
    assert reply.status_code == 200
    assert reply.headers["content-type"].split(";")[0] == media_type
    assert reply.json()["data"]["me"]["id"] == "spec-user"


async def test_get_runs_queries_and_never_mutations(server: ServerProcess) -> None:
    headers = {"authorization": f"Bearer {token('spec-user')}", "accept": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        query = await http.get(
            server.graphql_url, params={"query": "{ me { id } }"}, headers=headers
        )
        mutation = await http.get(
            server.graphql_url,
            params={"query": 'mutation { createProject(name: "via GET") { id } }'},
            headers=headers,
        )
        projects = await http.post(
            server.graphql_url, json={"query": "{ projects { name } }"}, headers=headers
        )
    assert query.status_code == 200
    assert query.json()["data"]["me"]["id"] == "spec-user"
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert "via GET" not in [p["name"] for p in projects.json()["data"]["projects"]]


URQL_ACCEPT = (
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)
APOLLO_QUERY_ACCEPT = (
    "multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9"
)
APOLLO_SUBSCRIPTION_ACCEPT = (
    'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'
)


@pytest.mark.parametrize(
    ("query_accept", "subscription_accept"),
    [(URQL_ACCEPT, URQL_ACCEPT), (APOLLO_QUERY_ACCEPT, APOLLO_SUBSCRIPTION_ACCEPT)],
    ids=["urql", "apollo"],
)
async def test_clients_default_accept_gets_json_for_queries_and_a_stream_for_subscriptions(
    server: ServerProcess, query_accept: str, subscription_accept: str
) -> None:
    """Strawberry streamed every reply once a streaming type was listed, so urql's queries
    came back as event streams it could not read."""
    query = await _post(server, {"query": "{ me { id } }"}, query_accept)
    assert query.status_code == 200
    assert query.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert query.json()["data"]["me"]["id"] == "spec-user"

    headers = {"authorization": f"Bearer {token('spec-user')}", "accept": subscription_accept}
    body = {"query": 'subscription { taskUpdated(taskId: "nope") { cursor } }'}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("POST", server.graphql_url, json=body, headers=headers) as stream,
    ):
        assert stream.status_code == 200
        media = stream.headers["content-type"].split(";")[0]
        assert media in ("text/event-stream", "multipart/mixed")
        received = ""
        async for chunk in stream.aiter_text():  # a heartbeat may come first
            received += chunk
            if "errors" in received:
                break
    assert "BAD_USER_INPUT" in received or "NOT_FOUND" in received, received


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("http://localhost:5173", True), ("http://evil.example", False), ("null", False)],
)
async def test_cors_answers_only_configured_origins(
    server: ServerProcess, origin: str, allowed: bool
) -> None:
    preflight_headers = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        preflight = await http.options(server.graphql_url, headers=preflight_headers)
        simple = await http.post(
            server.graphql_url,
            json={"query": "{ __typename }"},
            headers={"origin": origin},
        )
    granted = preflight.headers.get("access-control-allow-origin")
    assert (preflight.status_code, granted) == ((200, origin) if allowed else (400, None))
    assert simple.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert "access-control-allow-credentials" not in simple.headers


@pytest.mark.parametrize(
    ("method", "content", "content_type", "status", "code"),
    [
        ("POST", b"{not json", "application/json", 400, "BAD_REQUEST"),
        ("POST", b'{"variables": {}}', "application/json", 400, "BAD_REQUEST"),
        ("POST", b"5", "application/json", 400, "BAD_REQUEST"),
        ("POST", b"null", "application/json", 400, "BAD_REQUEST"),
        ("POST", b'"{ me { id } }"', "application/json", 400, "BAD_REQUEST"),
        ("POST", b"{ me { id } }", "text/plain", 400, "BAD_REQUEST"),
        ("PUT", b'{"query": "{ me { id } }"}', "application/json", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", b"", "application/json", 405, "METHOD_NOT_ALLOWED"),
    ],
    ids=["not-json", "no-query", "number", "null", "string", "not-a-json-type", "put", "delete"],
)
async def test_requests_refused_before_graphql_runs_get_a_graphql_error(
    server: ServerProcess, method: str, content: bytes, content_type: str, status: int, code: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.request(
            method, server.graphql_url, content=content, headers={"content-type": content_type}
        )
    assert reply.status_code == status
    assert reply.headers["content-type"].startswith("application/json")
    (error,) = reply.json()["errors"]
    assert error["extensions"]["code"] == code
    assert error["message"]
    if status == 405:
        assert reply.headers["allow"] == "GET, POST"
