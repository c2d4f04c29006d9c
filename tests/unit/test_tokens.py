"""graph/auth/tokens.py: what a token must be to name a user, checked without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from graph.auth.tokens import (
    Principal,
    TokenVerifier,
    bearer_token,
    mint_token,
    parse_ttl,
    principal_from_claims,
)
from graph.errors import Unauthenticated
from graph.settings import Settings
from tests.support.keys import claims, hs256_by_hand, public_pem, rsa_key, sign, unsigned

SECRET = "unit-secret-" + "s" * 32


def settings(**overrides: Any) -> Settings:
    return Settings(jwt_secret=SECRET, tasklive_env="test", **overrides)


async def verify(token: str, **overrides: Any) -> Principal:
    return await TokenVerifier(settings(**overrides)).verify(token)


async def refusal(token: str, **overrides: Any) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await verify(token, **overrides)
    assert caught.value.extensions == {"code": "UNAUTHENTICATED"}
    return str(caught.value)


async def test_a_good_token_names_its_user() -> None:
    token = sign(claims("alice", name="Alice", email="a@example.com"), SECRET, alg="HS256")
    principal = await verify(token)
    assert (principal.user_id, principal.name, principal.email) == (
        "alice",
        "Alice",
        "a@example.com",
    )
    assert not principal.is_admin
    assert principal.expires_at is not None
    left = (principal.expires_at - datetime.now(UTC)).total_seconds()
    assert left == pytest.approx(3600, abs=5)


async def test_a_minted_token_verifies_with_the_same_settings() -> None:
    token = mint_token(settings(), sub="bob", name="Bob", admin=True, ttl=timedelta(minutes=5))
    principal = await verify(token)
    assert (principal.user_id, principal.name, principal.is_admin) == ("bob", "Bob", True)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(alg: str) -> None:
    assert "algorithm" in await refusal(unsigned(claims("mallory"), alg=alg))


async def test_a_wrong_signature_is_refused() -> None:
    token = sign(claims("mallory"), "another-secret-" + "x" * 32, alg="HS256")
    assert "invalid token" in await refusal(token)


async def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = sign(claims("alice"), SECRET, alg="HS256").split(".")
    forged = unsigned(claims("admin", role="admin")).split(".")[1]
    assert "invalid token" in await refusal(f"{header}.{forged}.{signature}")


async def test_an_rs256_token_is_refused_when_hs256_is_configured() -> None:
    assert "algorithm 'RS256'" in await refusal(sign(claims("alice"), rsa_key(), alg="RS256"))


async def test_the_public_key_as_an_hmac_secret_is_refused() -> None:
    key = rsa_key()
    pem = public_pem(key)
    forged = hs256_by_hand(claims("mallory"), pem.encode())
    assert "algorithm 'HS256'" in await refusal(forged, jwt_public_key=pem)
    good = sign(claims("alice"), key, alg="RS256")
    assert (await verify(good, jwt_public_key=pem)).user_id == "alice"


async def test_a_missing_sub_is_refused() -> None:
    assert "sub" in await refusal(sign(claims(None), SECRET, alg="HS256"))


@pytest.mark.parametrize("sub", ["", "   ", "a\x00b", 42, "x" * 256])
async def test_an_unusable_sub_is_refused(sub: object) -> None:
    payload = {**claims("placeholder"), "sub": sub}
    token = jwt.encode(payload, SECRET, algorithm="HS256") if isinstance(sub, str) else None
    if token is None:  # pyjwt refuses to sign a non-string sub: build it by hand
        token = hs256_by_hand(payload, SECRET.encode())
    await refusal(token)


async def test_a_missing_exp_is_refused_unless_not_required() -> None:
    token = sign({"sub": "alice"}, SECRET, alg="HS256")
    assert "exp" in await refusal(token)
    principal = await verify(token, jwt_require_exp=False)
    assert principal.user_id == "alice" and principal.expires_at is None


async def test_an_expired_token_is_refused_and_leeway_forgives_a_little() -> None:
    token = sign(claims("alice", ttl=timedelta(seconds=-30)), SECRET, alg="HS256")
    assert await refusal(token) == "token expired"
    assert (await verify(token, jwt_leeway_seconds=60)).user_id == "alice"


async def test_a_token_not_yet_valid_is_refused() -> None:
    future = datetime.now(UTC) + timedelta(minutes=10)
    token = sign(claims("alice", nbf=future), SECRET, alg="HS256")
    assert await refusal(token) == "token not yet valid"


async def test_the_audience_is_checked_when_configured() -> None:
    right = sign(claims("alice", aud="tasklive"), SECRET, alg="HS256")
    wrong = sign(claims("alice", aud="elsewhere"), SECRET, alg="HS256")
    missing = sign(claims("alice"), SECRET, alg="HS256")
    assert (await verify(right, jwt_audience="tasklive")).user_id == "alice"
    await refusal(wrong, jwt_audience="tasklive")
    await refusal(missing, jwt_audience="tasklive")
    # Not configured: any audience is taken.
    assert (await verify(wrong)).user_id == "alice"


async def test_the_issuer_is_checked_when_configured() -> None:
    right = sign(claims("alice", iss="https://idp"), SECRET, alg="HS256")
    wrong = sign(claims("alice", iss="https://evil"), SECRET, alg="HS256")
    assert (await verify(right, jwt_issuer="https://idp")).user_id == "alice"
    assert "invalid token" in await refusal(wrong, jwt_issuer="https://idp")


async def test_a_token_past_the_maximum_length_is_refused_before_decoding() -> None:
    token = sign(claims("alice", pad="p" * 500), SECRET, alg="HS256")
    assert await refusal(token, jwt_max_length=len(token) - 1) == "token too long"
    assert (await verify(token, jwt_max_length=len(token))).user_id == "alice"


@pytest.mark.parametrize("token", ["", "garbage", "a.b", "a.b.c"])
async def test_a_malformed_token_is_refused(token: str) -> None:
    await refusal(token)


@pytest.mark.parametrize(
    ("extra", "admin"),
    [
        ({"role": "admin"}, True),
        ({"roles": ["reader", "admin"]}, True),
        ({"role": "Admin"}, False),
        ({"roles": "admin"}, False),  # a string, not a list
        ({"roles": ["administrator"]}, False),
        ({}, False),
    ],
)
def test_admin_comes_from_role_or_a_roles_list(extra: dict[str, Any], admin: bool) -> None:
    assert principal_from_claims({"sub": "u", **extra}).is_admin is admin


def test_unstorable_or_overlong_names_and_emails_are_dropped_or_cut() -> None:
    principal = principal_from_claims(
        {"sub": "u", "name": "bad\x00name", "email": "e" * 400, "exp": "not a time"}
    )
    assert principal.name is None
    assert principal.email == "e" * 320
    assert principal.expires_at is None
    assert principal_from_claims({"sub": "u", "name": 7, "email": ["x"]}).name is None


def test_an_expiry_past_year_9999_is_kept_as_none() -> None:
    assert principal_from_claims({"sub": "u", "exp": 10**15}).expires_at is None
    assert principal_from_claims({"sub": "u", "exp": 0}).expires_at == datetime(
        1970, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer   abc  ", "abc"),
        ("BEARER abc", "abc"),
        ("abc", "abc"),  # a bare token, as some clients send
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_reads_the_authorization_value(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), (" 1h ", 3600), ("7d", 604800)],
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1w", "-5m", "1.5h", "h"])
def test_parse_ttl_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="bad ttl"):
        parse_ttl(text)


def test_minted_tokens_carry_the_configured_audience_and_issuer() -> None:
    configured = settings(jwt_audience="aud", jwt_issuer="iss")
    token = mint_token(configured, sub="carol", email="c@example.com")
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="aud")
    assert (payload["iss"], payload["email"], payload["sub"]) == ("iss", "c@example.com", "carol")
    assert "role" not in payload and "name" not in payload
