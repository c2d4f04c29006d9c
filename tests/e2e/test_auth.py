"""Authentication end to end: which tokens the server accepts, and the users they record."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, token, unique
from tests.support.keys import (
    PrivateKey,
    claims,
    ec_key,
    hs256_by_hand,
    jwks_endpoint,
    public_jwk,
    public_pem,
    rsa_key,
    sign,
    unsigned,
)
from tests.support.servers import TEST_SECRET, ServerProcess, make_server

ME = "{ me { id name email } }"
MEMBERS = "query($p: ID!) { project(id: $p) { members { role user { id name email } } } }"
ADD_MEMBER = "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u) { role } }"
AUDIENCE = "tasklive-api"
ISSUER = "https://issuer.tasklive.test"
MAX_LENGTH = 8192  # JWT_MAX_LENGTH's default


async def ask(http: httpx.AsyncClient, server: ServerProcess, jwt: str) -> dict[str, Any]:
    return await GraphQLClient(server.graphql_url, http).post(ME, token=jwt)


def assert_refused(body: dict[str, Any], why: str = "") -> None:
    """Refused as UNAUTHENTICATED, with no data at all."""
    assert body.get("data") is None, (why, body)
    assert body.get("errors"), (why, body)
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes == ["UNAUTHENTICATED"], (why, body)


async def assert_all_refused(
    http: httpx.AsyncClient, server: ServerProcess, tokens: dict[str, str]
) -> None:
    for why, jwt in tokens.items():
        reply = await http.post(
            server.graphql_url, json={"query": ME}, headers={"authorization": f"Bearer {jwt}"}
        )
        assert reply.status_code == 200, (why, reply.text)
        assert_refused(reply.json(), why)


def assert_me(body: dict[str, Any], sub: str, name: str | None = None) -> None:
    assert not body.get("errors"), body
    assert body["data"]["me"]["id"] == sub
    assert body["data"]["me"]["name"] == name


@cache
def attacker_rsa_key() -> PrivateKey:
    return rsa_key()


def start_server(factory: pytest.TempPathFactory, name: str, **env: str) -> ServerProcess:
    tmp: Path = factory.mktemp(name)
    server = make_server(tmp, f"sqlite+aiosqlite:///{tmp}/t.db", **env)
    server.start()
    return server


# Default configuration (HS256 with JWT_SECRET), on the shared server of each backend.


async def test_hs256_token_is_accepted_and_records_the_user(gql: GraphQLClient) -> None:
    owner = unique("owner")
    owner_token = token(owner, name="Olga")
    project = await gql.data('mutation { createProject(name: "auth") { id } }', token=owner_token)
    project_id = project["createProject"]["id"]

    newcomer = unique("newcomer")
    # Nobody has sent a token naming the newcomer yet, so the server does not know them.
    error = await gql.error(ADD_MEMBER, {"p": project_id, "u": newcomer}, token=owner_token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"

    first = token(newcomer, name="Ann", email="ann@example.com")
    me = await gql.data(ME, token=first)
    assert me["me"] == {"id": newcomer, "name": "Ann", "email": "ann@example.com"}
    await gql.data(ADD_MEMBER, {"p": project_id, "u": newcomer}, token=owner_token)

    async def member_names() -> dict[str, str | None]:
        data = await gql.data(MEMBERS, {"p": project_id}, token=owner_token)
        return {m["user"]["id"]: m["user"]["name"] for m in data["project"]["members"]}

    assert await member_names() == {owner: "Olga", newcomer: "Ann"}

    renamed = token(newcomer, name="Ann Smith", email="ann.smith@example.com")
    me = await gql.data(ME, token=renamed)
    assert me["me"] == {"id": newcomer, "name": "Ann Smith", "email": "ann.smith@example.com"}
    assert await member_names() == {owner: "Olga", newcomer: "Ann Smith"}

    # A later token without a name or email leaves the recorded ones alone.
    me = await gql.data(ME, token=token(newcomer))
    assert me["me"] == {"id": newcomer, "name": "Ann Smith", "email": "ann.smith@example.com"}
    assert await member_names() == {owner: "Olga", newcomer: "Ann Smith"}


async def test_unusable_claims_do_not_break_a_valid_token(gql: GraphQLClient) -> None:
    sub = unique("odd")
    await gql.data(ME, token=token(sub, name="Nina", email="nina@example.com"))
    # A name or email that cannot be stored is ignored; the recorded ones stay.
    for name, email in (("a\x00b", "n\x00@example.com"), ("a\ud800b", "\udfff@x"), (7, [])):
        jwt = sign(claims(sub, name=name, email=email), TEST_SECRET, alg="HS256")
        me = await gql.data(ME, token=jwt)
        assert me["me"] == {"id": sub, "name": "Nina", "email": "nina@example.com"}
    # An expiry past what a datetime holds is far in the future, not a server error.
    for exp in (10**20, 1e20):
        jwt = sign(claims(sub, exp=exp), TEST_SECRET, alg="HS256")
        assert (await gql.data(ME, token=jwt))["me"]["id"] == sub


def _tampered() -> str:
    header, _, signature = token("victim").split(".")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "admin", "role": "admin"}).encode())
    return f"{header}.{payload.rstrip(b'=').decode()}.{signature}"


_HS_REFUSED: dict[str, Callable[[], str]] = {
    "alg-none": lambda: unsigned(claims(unique("u"))),
    # A real HS256 signature under a header that says none, or none spelt otherwise.
    "alg-none-but-signed": lambda: hs256_by_hand(claims("u"), TEST_SECRET.encode(), alg="none"),
    "alg-None-but-signed": lambda: hs256_by_hand(claims("u"), TEST_SECRET.encode(), alg="None"),
    "alg-NONE": lambda: unsigned(claims("u"), alg="NONE"),
    "wrong-signature": lambda: sign(
        claims(unique("u")), "another-secret-that-is-long-enough-0123456789", alg="HS256"
    ),
    "tampered-payload": _tampered,
    "rs256-with-own-key": lambda: sign(claims(unique("u")), attacker_rsa_key(), alg="RS256"),
    "missing-sub": lambda: sign(claims(None, name="Nobody"), TEST_SECRET, alg="HS256"),
    "empty-sub": lambda: sign(claims(""), TEST_SECRET, alg="HS256"),
    "numeric-sub": lambda: sign(claims(None) | {"sub": 42}, TEST_SECRET, alg="HS256"),
    "blank-sub": lambda: sign(claims("   "), TEST_SECRET, alg="HS256"),
    "sub-too-long": lambda: sign(claims("x" * 256), TEST_SECRET, alg="HS256"),
    # Ids the databases cannot store: PostgreSQL refuses NUL, nothing encodes a lone surrogate.
    "sub-with-nul": lambda: sign(claims(unique("u") + "\x00"), TEST_SECRET, alg="HS256"),
    "sub-lone-surrogate": lambda: sign(claims(unique("u") + "\ud800"), TEST_SECRET, alg="HS256"),
    "expired": lambda: token(unique("u"), ttl=timedelta(seconds=-30)),
    "not-yet-valid": lambda: sign(
        claims(unique("u"), nbf=datetime.now(UTC) + timedelta(minutes=10)),
        TEST_SECRET,
        alg="HS256",
    ),
    "oversized": lambda: sign(claims(unique("u"), pad="x" * MAX_LENGTH), TEST_SECRET, alg="HS256"),
    "garbage": lambda: "garbage",
    "three-garbage-parts": lambda: "a.b.c",
    "not-base64": lambda: "###.%%%.&&&",
    "header-not-json": lambda: "bm90IGpzb24." + token("u").split(".", 1)[1],
}


@pytest.mark.parametrize("make_token", list(_HS_REFUSED.values()), ids=list(_HS_REFUSED))
async def test_bad_token_is_refused(gql: GraphQLClient, make_token: Callable[[], str]) -> None:
    assert_refused(await gql.post(ME, token=make_token()))


def _sized(target: int) -> str:
    """A valid token exactly `target` characters long (or one longer: base64 steps)."""
    sub = unique("big")
    base = len(token(sub))
    pad = max(0, (target - base - 20) * 3 // 4)
    while True:
        jwt = sign(claims(sub, pad="x" * pad), TEST_SECRET, alg="HS256")
        if len(jwt) >= target:
            return jwt
        pad += 1


async def test_token_length_limit(gql: GraphQLClient) -> None:
    at_limit = _sized(MAX_LENGTH - 1)
    assert len(at_limit) <= MAX_LENGTH
    body = await gql.post("{ me { id } }", token=at_limit)
    assert not body.get("errors"), body

    over = _sized(MAX_LENGTH + 1)
    assert MAX_LENGTH < len(over) <= MAX_LENGTH + 2
    assert_refused(await gql.post(ME, token=over))


async def test_token_in_the_query_string_is_not_accepted(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    sub = unique("query-string")
    jwt = token(sub, name="Q")
    body = {"query": ME}
    for params in ({"token": jwt}, {"authorization": f"Bearer {jwt}"}, {"access_token": jwt}):
        reply = await http.post(gql.url, params=params, json=body)
        assert reply.status_code == 200, reply.text
        assert_refused(reply.json())
        reply = await http.get(gql.url, params={"query": ME, **params})
        assert reply.status_code == 200, reply.text
        assert_refused(reply.json())
    # The same token in the header is fine.
    assert_me(await gql.post(ME, token=jwt), sub, "Q")


# Audience and issuer checks.


@pytest.fixture(scope="module")
def aud_iss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory, "aud-iss", JWT_AUDIENCE=AUDIENCE, JWT_ISSUER=ISSUER)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [
        ({"aud": AUDIENCE, "iss": ISSUER}, True),
        ({"aud": ["another-api", AUDIENCE], "iss": ISSUER}, True),
        ({"aud": "another-api", "iss": ISSUER}, False),
        ({"aud": ["another-api"], "iss": ISSUER}, False),
        ({"aud": AUDIENCE, "iss": "https://evil.test"}, False),
        ({"iss": ISSUER}, False),
        ({"aud": AUDIENCE}, False),
        ({}, False),
    ],
    ids=[
        "right",
        "right-in-list",
        "wrong-aud",
        "wrong-aud-list",
        "wrong-iss",
        "no-aud",
        "no-iss",
        "neither",
    ],
)
async def test_audience_and_issuer(
    aud_iss_server: ServerProcess,
    http: httpx.AsyncClient,
    extra: dict[str, Any],
    accepted: bool,
) -> None:
    sub = unique("aud")
    jwt = sign(claims(sub, name="Aud", **extra), TEST_SECRET, alg="HS256")
    body = await ask(http, aud_iss_server, jwt)
    if accepted:
        assert_me(body, sub, "Aud")
    else:
        assert_refused(body)


# Public keys: RS256 and ES256 from a PEM in JWT_PUBLIC_KEY.


class KeyedServer:
    def __init__(self, server: ServerProcess, key: PrivateKey) -> None:
        self.server = server
        self.key = key
        self.pem = public_pem(key)


@pytest.fixture(scope="module")
def rs256_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedServer]:
    key = rsa_key()
    server = start_server(tmp_path_factory, "rs256", JWT_PUBLIC_KEY=public_pem(key))
    try:
        yield KeyedServer(server, key)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def es256_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedServer]:
    key = ec_key()
    server = start_server(tmp_path_factory, "es256", JWT_PUBLIC_KEY=public_pem(key))
    try:
        yield KeyedServer(server, key)
    finally:
        server.stop()


async def test_rs256_with_pem_public_key(
    rs256_server: KeyedServer, http: httpx.AsyncClient
) -> None:
    sub = unique("rs")
    jwt = sign(claims(sub, name="Rita"), rs256_server.key, alg="RS256")
    assert_me(await ask(http, rs256_server.server, jwt), sub, "Rita")

    refused = {
        "other RSA key": sign(claims(sub), attacker_rsa_key(), alg="RS256"),
        "EC key": sign(claims(sub), ec_key(), alg="ES256"),
        "HS256 with JWT_SECRET": sign(claims(sub), TEST_SECRET, alg="HS256"),
        "alg none": unsigned(claims(sub)),
        "expired": sign(claims(sub, ttl=timedelta(seconds=-30)), rs256_server.key, alg="RS256"),
        "no sub": sign(claims(None), rs256_server.key, alg="RS256"),
    }
    await assert_all_refused(http, rs256_server.server, refused)


@pytest.mark.parametrize("strip", [False, True], ids=["pem-as-configured", "pem-stripped"])
async def test_hs_rs_confusion_is_refused(
    rs256_server: KeyedServer, http: httpx.AsyncClient, strip: bool
) -> None:
    """The public key is public: HMAC-signing with it as the secret must not work."""
    secret = rs256_server.pem.strip() if strip else rs256_server.pem
    jwt = hs256_by_hand(claims(unique("mallory"), role="admin"), secret.encode())
    assert_refused(await ask(http, rs256_server.server, jwt))


async def test_es256_with_pem_public_key(
    es256_server: KeyedServer, http: httpx.AsyncClient
) -> None:
    sub = unique("es")
    jwt = sign(claims(sub, name="Esme"), es256_server.key, alg="ES256")
    assert_me(await ask(http, es256_server.server, jwt), sub, "Esme")

    refused = {
        "other EC key": sign(claims(sub), ec_key(), alg="ES256"),
        "RSA key": sign(claims(sub), attacker_rsa_key(), alg="RS256"),
        "HS256 with JWT_SECRET": sign(claims(sub), TEST_SECRET, alg="HS256"),
        "HS256 with the PEM": hs256_by_hand(claims(sub), es256_server.pem.encode()),
        "alg none": unsigned(claims(sub)),
    }
    await assert_all_refused(http, es256_server.server, refused)


# JWKS: keys fetched from JWT_JWKS_URL and chosen by `kid`.


class JwksServer:
    def __init__(self, server: ServerProcess, keys: dict[str, PrivateKey]) -> None:
        self.server = server
        self.keys = keys


@pytest.fixture(scope="module")
def jwks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JwksServer]:
    keys: dict[str, PrivateKey] = {"rsa-1": rsa_key(), "rsa-2": rsa_key(), "ec-1": ec_key()}
    with jwks_endpoint([public_jwk(k, kid=kid) for kid, k in keys.items()]) as url:
        server = start_server(
            tmp_path_factory, "jwks", JWT_JWKS_URL=url, NO_PROXY="127.0.0.1,localhost"
        )
        try:
            yield JwksServer(server, keys)
        finally:
            server.stop()


@pytest.mark.parametrize(
    ("kid", "alg"), [("rsa-1", "RS256"), ("rsa-2", "RS256"), ("ec-1", "ES256")]
)
async def test_jwks_key_chosen_by_kid(
    jwks_server: JwksServer, http: httpx.AsyncClient, kid: str, alg: str
) -> None:
    sub = unique("jwks")
    jwt = sign(claims(sub, name=kid), jwks_server.keys[kid], alg=alg, kid=kid)
    assert_me(await ask(http, jwks_server.server, jwt), sub, kid)


async def test_jwks_refuses_tokens_not_matching_their_key(
    jwks_server: JwksServer, http: httpx.AsyncClient
) -> None:
    keys = jwks_server.keys
    sub = unique("jwks")
    refused = {
        # Signed by rsa-2 but claiming to be rsa-1: the kid picks the key, the signature fails.
        "wrong kid": sign(claims(sub), keys["rsa-2"], alg="RS256", kid="rsa-1"),
        "unknown kid": sign(claims(sub), keys["rsa-1"], alg="RS256", kid="rsa-9"),
        "no kid": sign(claims(sub), keys["rsa-1"], alg="RS256"),
        "key not in the set": sign(claims(sub), attacker_rsa_key(), alg="RS256", kid="rsa-1"),
        # An algorithm that does not fit the key the kid names.
        "ES256 for an RSA kid": sign(claims(sub), keys["ec-1"], alg="ES256", kid="rsa-1"),
        "RS256 for an EC kid": sign(claims(sub), keys["rsa-1"], alg="RS256", kid="ec-1"),
        "HS256 with JWT_SECRET": sign(claims(sub), TEST_SECRET, alg="HS256", kid="rsa-1"),
        "alg none": unsigned(claims(sub)),
        "expired": sign(
            claims(sub, ttl=timedelta(seconds=-30)), keys["rsa-1"], alg="RS256", kid="rsa-1"
        ),
    }
    await assert_all_refused(http, jwks_server.server, refused)
