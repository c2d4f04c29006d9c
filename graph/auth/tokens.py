"""JWT verification and minting, and the per-project permission checks."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.errors import Unauthenticated
from graph.settings import Settings

log = logging.getLogger(__name__)

HMAC_ALGORITHMS = ["HS256"]
PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"]
_TTL_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token says the caller is."""

    user_id: str
    name: str | None
    email: str | None
    is_admin: bool
    expires_at: datetime | None


def parse_ttl(value: str) -> timedelta:
    """`90`, `90s`, `15m`, `1h`, `7d` -> timedelta."""
    match = _TTL_RE.match(value)
    if not match:
        raise ValueError(f"bad ttl {value!r}: use a number with s, m, h or d (e.g. 1h)")
    return timedelta(seconds=int(match.group(1)) * _TTL_UNITS[match.group(2)])


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization` value; a bare token is accepted too."""
    if not header_value:
        return None
    value = header_value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


class TokenVerifier:
    """Verifies tokens with the configured HS256 secret, PEM public key or JWKS URL.

    With a public key or JWKS configured, HMAC algorithms are never accepted, which shuts
    the HS/RS confusion attack (a token "signed" with the public key as an HMAC secret).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=300)
        self._algorithms = PUBLIC_KEY_ALGORITHMS if settings.uses_public_key else HMAC_ALGORITHMS
        self._required = ["sub", "exp"] if settings.jwt_require_exp else ["sub"]

    async def verify(self, token: str) -> Principal:
        if len(token) > self._settings.jwt_max_length:
            raise Unauthenticated("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed token") from exc
        if header.get("alg") not in self._algorithms:
            raise Unauthenticated(f"token algorithm {header.get('alg')!r} is not accepted")
        key = await self._key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={
                    "require": self._required,
                    "verify_aud": bool(self._settings.jwt_audience),
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("token not yet valid") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        return principal_from_claims(claims)

    async def _key_for(self, token: str) -> Any:
        if self._jwks is not None:
            jwks = self._jwks
            try:
                signing_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as exc:
                raise Unauthenticated(f"no signing key for token: {exc}") from exc
            # The PyJWK, not its raw key: pyjwt then refuses a token whose `alg` does not fit
            # the key its `kid` names (a raw key of the wrong type raises TypeError, a 500).
            return signing_key
        if self._settings.jwt_public_key:
            return self._settings.jwt_public_key
        return self._settings.jwt_secret


def _storable_text(value: object) -> str | None:
    """`value` if it is text both databases store (PostgreSQL refuses NUL; lone surrogates
    cannot be encoded), else None."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value


def _expiry(exp: object) -> datetime | None:
    """`exp` read as pyjwt validated it (`int(exp)`); None when absent or past year 9999."""
    if not isinstance(exp, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(int(exp), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    sub = _storable_text(claims.get("sub"))
    if sub is None or not sub.strip() or len(sub) > 255:
        raise Unauthenticated("token has no usable `sub`")
    roles = claims.get("roles")
    is_admin = claims.get("role") == "admin" or (isinstance(roles, list) and "admin" in roles)
    # A name or email that cannot be stored is ignored, like one that is not a string.
    name = _storable_text(claims.get("name"))
    email = _storable_text(claims.get("email"))
    return Principal(
        user_id=sub,
        name=name[:255] if name is not None else None,
        email=email[:320] if email is not None else None,
        is_admin=is_admin,
        expires_at=_expiry(claims.get("exp")),
    )


def mint_token(
    settings: Settings,
    *,
    sub: str,
    name: str | None = None,
    email: str | None = None,
    admin: bool = False,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """A token signed with the configured HS256 secret (for development and scripts)."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + ttl}
    if name:
        claims["name"] = name
    if email:
        claims["email"] = email
    if admin:
        claims["role"] = "admin"
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
