"""HTTP subscription streams without a server: how one ends when the live layer closes it,
and how the connection limits admit it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db.session import Database
from graph.auth.tokens import Principal
from graph.http.streams import HttpStream, StreamRefused
from graph.realtime.hub import CLOSE_FORBIDDEN, CLOSE_GOING_AWAY, RealtimeHub
from graph.settings import Settings
from graph.ws.admission import ConnectionLimits

TIMEOUT = 5


class Subscription:
    """A source like Strawberry's: one event, then nothing until it is cancelled."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.cleaned_up = asyncio.Event()

    async def stream(self) -> AsyncGenerator[str, None]:
        try:
            yield "event: next\r\ndata: {}\r\n\r\n"
            self.waiting.set()
            await asyncio.Event().wait()
        finally:
            self.cleaned_up.set()


def opened(protocol: str) -> tuple[HttpStream, Subscription, AsyncIterator[str]]:
    live = HttpStream(protocol=protocol, address="127.0.0.1", user_id="u")
    subscription = Subscription()
    chunks = live.guard(subscription.stream, json.dumps)()
    return live, subscription, chunks


async def rest(chunks: AsyncIterator[str]) -> list[str]:
    async with asyncio.timeout(TIMEOUT):
        return [chunk async for chunk in chunks]


async def test_token_expiry_ends_an_sse_stream_with_unauthenticated_then_complete() -> None:
    live, subscription, chunks = opened("sse")
    assert await anext(chunks) == "event: next\r\ndata: {}\r\n\r\n"
    assert live.connection is not None
    await live.connection.close(CLOSE_FORBIDDEN, "token expired")
    error = {"message": "token expired", "extensions": {"code": "UNAUTHENTICATED"}}
    assert await rest(chunks) == [
        f"event: next\r\ndata: {json.dumps({'data': None, 'errors': [error]})}\r\n\r\n",
        "event: complete\r\ndata: \r\n\r\n",
    ]
    assert subscription.cleaned_up.is_set()  # before the last words went out


async def test_token_expiry_ends_a_multipart_stream_with_a_transport_error() -> None:
    live, subscription, chunks = opened("multipart-subscription")
    await anext(chunks)
    assert live.connection is not None
    await live.connection.close(CLOSE_FORBIDDEN, "token expired")
    last, closing = await rest(chunks)
    body = last.split("\r\n\r\n", 1)[1].removesuffix("\r\n--graphql")
    assert json.loads(body) == {
        "payload": None,
        "errors": [{"message": "token expired", "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    assert closing == "\r\n--graphql--\r\n"
    assert subscription.cleaned_up.is_set()


@pytest.mark.parametrize("protocol", ["sse", "multipart-subscription"])
async def test_shutdown_ends_the_stream_with_no_last_words(protocol: str) -> None:
    live, subscription, chunks = opened(protocol)
    await anext(chunks)
    assert live.connection is not None
    await live.connection.close(CLOSE_GOING_AWAY, "server shutting down")
    assert await rest(chunks) == []
    assert subscription.cleaned_up.is_set()


async def test_a_stream_closed_before_it_starts_never_starts_its_subscription() -> None:
    live, subscription, chunks = opened("sse")
    assert live.connection is not None
    await live.connection.close(CLOSE_GOING_AWAY, "server shutting down")
    assert await rest(chunks) == []
    assert not subscription.cleaned_up.is_set()  # it never ran


async def test_a_client_that_leaves_cancels_the_subscription() -> None:
    live, subscription, chunks = opened("sse")
    await anext(chunks)
    reader = asyncio.ensure_future(anext(chunks))
    async with asyncio.timeout(TIMEOUT):
        await subscription.waiting.wait()  # the reader waits for the next event
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    async with asyncio.timeout(TIMEOUT):
        await subscription.cleaned_up.wait()
    await live.finish()


# -- admission: the limits over WebSockets and streams, without a server


@pytest.fixture
async def limits() -> AsyncIterator[ConnectionLimits]:
    settings = Settings(jwt_secret="x" * 32, max_connections_per_ip=2, max_connections_per_user=1)
    db = Database.from_url("sqlite+aiosqlite:///:memory:")
    try:
        yield ConnectionLimits(settings, RealtimeHub(settings, db))
    finally:
        await db.dispose()


def principal(user_id: str) -> Principal:
    expires = datetime.now(UTC) + timedelta(hours=1)
    return Principal(user_id=user_id, name=None, email=None, is_admin=False, expires_at=expires)


def admit(
    limits: ConnectionLimits, user_id: str | None, address: str = "198.51.100.1"
) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    limits.admit_stream(
        scope,
        address=address,
        principal=principal(user_id) if user_id else None,
        protocol="sse",
    )
    return scope


async def test_a_stream_holds_its_address_and_its_user_until_released(
    limits: ConnectionLimits,
) -> None:
    hub = limits.hub
    scope = admit(limits, "ann")
    assert hub.user_connections == {"ann": 1} and len(hub.connections) == 1
    with pytest.raises(StreamRefused) as refused:
        admit(limits, "ann", address="203.0.113.9")
    assert (refused.value.status_code, refused.value.extensions) == (
        429,
        {"limit": "connections_per_user", "maximum": 1},
    )
    anonymous = admit(limits, None)  # no user: its address's place only
    with pytest.raises(StreamRefused) as refused:
        admit(limits, "bob")
    assert refused.value.extensions == {"limit": "connections_per_ip", "maximum": 2}
    assert hub.metrics.refusals == {"connections_per_user": 1, "connections_per_ip": 1}
    for held in (scope, anonymous):
        await limits.release_stream(held)
    assert not hub.user_connections and not hub.connections and not limits.by_address
    admit(limits, "bob")


async def test_no_stream_is_admitted_while_the_server_shuts_down(
    limits: ConnectionLimits,
) -> None:
    limits.hub.shutting_down = True
    with pytest.raises(StreamRefused) as refused:
        admit(limits, "ann")
    assert refused.value.status_code == 503
    assert not limits.by_address
