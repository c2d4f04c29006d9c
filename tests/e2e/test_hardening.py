"""Hardening: expiry required, limits with codes, answers to every subscription, fresh data
per event, private emails, shutdown under a Redis drop and bounded ping replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient, World, unique
from tests.support.keys import claims, sign
from tests.support.servers import TEST_SECRET, ServerProcess, sqlite_server
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
ME = "{ me { id } }"
TASK_CREATED = "subscription($p: ID!) { taskCreated(projectId: $p) { task { id } } }"


@pytest.fixture(scope="module")
def relaxed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Tokens without `exp` allowed, and two operations per connection."""
    tmp: Path = tmp_path_factory.mktemp("relaxed")
    with sqlite_server(tmp, JWT_REQUIRE_EXP="false", MAX_SUBSCRIPTIONS_PER_CONNECTION="2") as proc:
        yield proc


def no_exp_token(sub: str) -> str:
    return sign(claims(sub, exp=None), TEST_SECRET, alg="HS256")


# -- tokens must expire


async def test_a_token_without_exp_is_refused(server: ServerProcess, gql: GraphQLClient) -> None:
    body = await gql.post(ME, token=no_exp_token(unique("forever")))
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    async with connect(server.ws_url, init=False) as ws:
        await ws.send({"type": "connection_init", "payload": {"token": no_exp_token("x")}})
        assert await ws.closed_with() == 4403


async def test_a_token_without_exp_is_accepted_when_configured_off(
    relaxed_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    sub = unique("forever")
    me = await GraphQLClient(relaxed_server.graphql_url, http).data(ME, token=no_exp_token(sub))
    assert me == {"me": {"id": sub}}


# -- the subscription limit has a code


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_subscription_limit_error_has_a_code(
    relaxed_server: ServerProcess, http: httpx.AsyncClient, protocol: str
) -> None:
    world = await World(GraphQLClient(relaxed_server.graphql_url, http)).setup()
    project = world.project_id
    async with connect(relaxed_server.ws_url, token=world.tokens["owner"], protocol=protocol) as ws:
        await ws.subscribe(TASK_CREATED, {"p": project}, op_id="a")
        await ws.subscribe(TASK_CREATED, {"p": project}, op_id="b")
        await ws.subscribe(TASK_CREATED, {"p": project}, op_id="c")
        refused = await ws.recv()
        assert refused["id"] == "c" and refused["type"] == "error", refused
        payload = refused["payload"]
        error = payload[0] if isinstance(payload, list) else payload
        assert error["message"] == "Subscription limit reached"
        assert error["extensions"] == {
            "code": "LIMIT_EXCEEDED",
            "limit": "subscriptionsPerConnection",
            "max": 2,
        }
