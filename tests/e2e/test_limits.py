"""Query limits (depth, aliases, tokens): on by default, and configurable per deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, token, unique
from tests.support.servers import ServerProcess, sqlite_server

DEPTH_3 = "{ projects { members { user { id } } } }"
DEPTH_4 = "{ projects { tasks { edges { node { id } } } } }"
# The same depth 4, hidden in a fragment.
DEPTH_4_FRAGMENT = (
    "query { projects { ...P } } fragment P on Project { tasks { edges { node { id } } } }"
)
_CHAIN_12 = "projects { tasks { edges { node { project { tasks { edges { node { project { tasks "
DEPTH_12 = "{ " + _CHAIN_12 + "{ edges { node { id } } } } } } } } } } } } }"
DEPTH_13 = "{ " + _CHAIN_12 + "{ edges { node { project { id } } } } } } } } } } } } } }"


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(count)) + " }"


UNDER_50_TOKENS = "{ me { id name email } }"
OVER_50_TOKENS = "{ me { " + "id " * 60 + "} }"  # no alias, depth 1: only the token count is over


async def refused(gql: GraphQLClient, query: str, *, code: str, says: str) -> dict[str, Any]:
    body = await gql.post(query, token=token(unique("limits")))
    assert body["data"] is None, body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == code, body
    assert says in error["message"], body
    return error


async def allowed(gql: GraphQLClient, query: str) -> None:
    await gql.data(query, token=token(unique("limits")))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own with tight limits, on SQLite."""
    with sqlite_server(
        tmp_path_factory.mktemp("limited"), MAX_QUERY_DEPTH="3", MAX_ALIASES="2", MAX_TOKENS="50"
    ) as proc:
        yield proc


@pytest.fixture
def tight(limited: ServerProcess, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(limited.graphql_url, http)


async def test_configured_depth_limit(tight: GraphQLClient) -> None:
    await allowed(tight, DEPTH_3)
    await refused(tight, DEPTH_4, code="GRAPHQL_VALIDATION_FAILED", says="depth of 3")
    await refused(tight, DEPTH_4_FRAGMENT, code="GRAPHQL_VALIDATION_FAILED", says="depth of 3")


async def test_configured_alias_limit(tight: GraphQLClient) -> None:
    await allowed(tight, aliases(2))
    await refused(tight, aliases(3), code="GRAPHQL_VALIDATION_FAILED", says="Allowed: 2")
    in_fragment = "query { a: me { ...U } b: me { id } } fragment U on User { c: id }"
    await refused(tight, in_fragment, code="GRAPHQL_VALIDATION_FAILED", says="Allowed: 2")


async def test_configured_token_limit(tight: GraphQLClient) -> None:
    await allowed(tight, UNDER_50_TOKENS)
    await refused(tight, OVER_50_TOKENS, code="GRAPHQL_PARSE_FAILED", says="more than 50 tokens")


async def test_limits_refuse_the_same_document_every_time(tight: GraphQLClient) -> None:
    """The parse and validation caches must not let a refused document through on a retry."""
    for _ in range(3):
        await refused(tight, DEPTH_4, code="GRAPHQL_VALIDATION_FAILED", says="depth")
        await refused(tight, OVER_50_TOKENS, code="GRAPHQL_PARSE_FAILED", says="tokens")
        await allowed(tight, DEPTH_3)


async def test_default_limits(gql: GraphQLClient) -> None:
    # What the tight server refuses, the default one (depth 12, 30 aliases, 2000 tokens) allows.
    for query in (DEPTH_4, DEPTH_4_FRAGMENT, DEPTH_12, aliases(3), aliases(30), OVER_50_TOKENS):
        await allowed(gql, query)
    await refused(gql, DEPTH_13, code="GRAPHQL_VALIDATION_FAILED", says="depth of 12")
    # 31 aliases are few tokens: the alias limit refuses them.
    await refused(gql, aliases(31), code="GRAPHQL_VALIDATION_FAILED", says="Allowed: 30")
    # 1000 aliases are also ~6000 tokens: refused before they are even parsed in full.
    await refused(gql, aliases(1000), code="GRAPHQL_PARSE_FAILED", says="more than 2000 tokens")
    await refused(
        gql, "{ me { " + "id " * 2000 + "} }", code="GRAPHQL_PARSE_FAILED", says="2000 tokens"
    )
