"""Signing keys, hand-built tokens and a local JWKS endpoint for the authentication tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_jwk(key: PrivateKey, *, kid: str) -> dict[str, Any]:
    """The public half of `key` as a JWK with the given `kid`."""
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


def claims(sub: str | None, *, ttl: timedelta = timedelta(hours=1), **extra: Any) -> dict[str, Any]:
    """Registered claims valid for `ttl` from now, plus `extra` (a None value drops the claim)."""
    now = datetime.now(UTC)
    out: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + ttl, **extra}
    return {k: v for k, v in out.items() if v is not None}


def sign(
    payload: dict[str, Any], key: PrivateKey | str, *, alg: str, kid: str | None = None
) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def encode(part: dict[str, Any]) -> str:
        plain = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in part.items()}
        return _b64(json.dumps(plain, separators=(",", ":")).encode())

    return f"{encode(header)}.{encode(payload)}"


def hs256_by_hand(payload: dict[str, Any], secret: bytes, *, alg: str = "HS256") -> str:
    """HMAC-SHA256 with any bytes as the secret, a PEM public key included (pyjwt refuses
    those), under any `alg` header."""
    signing_input = _segments({"alg": alg, "typ": "JWT"}, payload)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unsigned(payload: dict[str, Any], *, alg: str = "none") -> str:
    """An `alg: none` token (or none spelt otherwise): no signature at all."""
    return _segments({"alg": alg, "typ": "JWT"}, payload) + "."


@contextmanager
def jwks_endpoint(keys: list[dict[str, Any]]) -> Iterator[str]:
    """Serves `{"keys": keys}` over HTTP on 127.0.0.1 from a thread; yields its URL."""
    body = json.dumps({"keys": keys}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="jwks", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
