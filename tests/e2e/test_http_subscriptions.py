"""Subscriptions over HTTP, Server-Sent Events and Apollo's multipart protocol: they deliver,
and they are connections like a WebSocket (ended at token expiry and shutdown, counted in
stats and presence; the connection limits are in test_abuse_limits.py)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.client import GraphQLClient, World, token, unique
from tests.support.http_streams import MULTIPART, SSE, StreamMessage, messages, open_stream
from tests.support.polling import eventually
from tests.support.servers import ServerProcess, make_server

QUERY = "subscription($t: ID!) { taskUpdated(taskId: $t) { task { version status } } }"
RESUMABLE = (
    "subscription($t: ID!, $a: String) { taskUpdated(taskId: $t, after: $a) "
    "{ cursor task { version status } } }"
)
STATS = "{ realtimeStats { connections userRooms { user { id } rooms } } }"
KINDS = [SSE, MULTIPART]
TIMEOUT = 10


async def change(gql: GraphQLClient, world: World, task_id: str, status: str) -> None:
    await gql.data(
        "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) { version } }",
        {"t": task_id, "s": status},
        token=world.tokens["member"],
    )


async def first_message(response: httpx.Response, kind: str) -> StreamMessage:
    async with asyncio.timeout(TIMEOUT):
        async for message in messages(response, kind):
            return message
    raise AssertionError("the stream ended without a message")


async def users_in_task(world: World, task_id: str) -> list[str]:
    data = await world.client.data(
        "query($t: ID!) { usersInTask(taskId: $t) { id } }",
        {"t": task_id},
        token=world.tokens["owner"],
    )
    return [u["id"] for u in data["usersInTask"]]


def viewer_stream(
    http: httpx.AsyncClient, url: str, world: World, task_id: str, kind: str
) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
    """The viewer's QUERY subscription on `task_id` over `kind`."""
    return open_stream(http, url, QUERY, {"t": task_id}, token=world.tokens["viewer"], kind=kind)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_subscription_streams_its_events(
    server: ServerProcess, world: World, gql: GraphQLClient, kind: str
) -> None:
    task = await world.create_task()
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        viewer_stream(http, server.graphql_url, world, task["id"], kind) as response,
    ):
        assert response.status_code == 200
        media = "text/event-stream" if kind == SSE else "multipart/mixed"
        assert response.headers["content-type"].startswith(media)
        await world.wait_for_viewers(task["id"])
        await change(gql, world, task["id"], "IN_PROGRESS")
        message = await first_message(response, kind)
    assert message.kind == "next" and message.data is not None
    assert message.data["taskUpdated"]["task"] == {"version": 2, "status": "IN_PROGRESS"}


async def test_http_subscription_without_a_token_is_refused(
    server: ServerProcess, world: World
) -> None:
    task = await world.create_task()
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        open_stream(http, server.graphql_url, QUERY, {"t": task["id"]}, token=None) as response,
    ):
        message = await first_message(response, SSE)
    assert message.kind == "next" and message.body["data"] is None
    assert message.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("kind", KINDS)
async def test_token_expiry_ends_the_stream_with_unauthenticated_and_resume_loses_nothing(
    server: ServerProcess, world: World, gql: GraphQLClient, kind: str
) -> None:
    task = await world.create_task()
    short = token(world.ids["viewer"], name="Viewer", ttl=timedelta(seconds=3))
    expires = jwt.decode(short, options={"verify_signature": False})["exp"]
    received: list[StreamMessage] = []
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        async with open_stream(
            http, server.graphql_url, RESUMABLE, {"t": task["id"]}, token=short, kind=kind
        ) as response:
            await world.wait_for_viewers(task["id"])
            await change(gql, world, task["id"], "IN_PROGRESS")
            async with asyncio.timeout(TIMEOUT):  # the server ends the stream, or this fails
                async for message in messages(response, kind):
                    received.append(message)
        ended = time.time()
        assert expires - 1 <= ended <= expires + 2, (expires, ended)

        first, *last = received
        assert first.data is not None
        assert first.data["taskUpdated"]["task"] == {"version": 2, "status": "IN_PROGRESS"}
        expired = {"message": "token expired", "extensions": {"code": "UNAUTHENTICATED"}}
        if kind == SSE:  # a `next` with the error, then `complete`
            assert [m.kind for m in last] == ["next", "complete"]
            assert last[0].body == {"data": None, "errors": [expired]}
        else:  # Apollo's transport error: no payload, the errors at the top level
            assert [m.body for m in last] == [{"payload": None, "errors": [expired]}]

        # The stream left the task's room; the client signs in again and resumes.
        await eventually(lambda: _without(world, task["id"], world.ids["viewer"]))
        await change(gql, world, task["id"], "COMPLETED")
        cursor = first.data["taskUpdated"]["cursor"]
        async with open_stream(
            http,
            server.graphql_url,
            RESUMABLE,
            {"t": task["id"], "a": cursor},
            token=world.tokens["viewer"],
            kind=kind,
        ) as response:
            missed = await first_message(response, kind)
    assert missed.data is not None
    assert missed.data["taskUpdated"]["task"] == {"version": 3, "status": "COMPLETED"}


async def _without(world: World, task_id: str, user_id: str) -> bool:
    return user_id not in await users_in_task(world, task_id)


async def _stats(gql: GraphQLClient, admin: str) -> dict[str, Any]:
    data = await gql.data(STATS, token=admin)
    stats: dict[str, Any] = data["realtimeStats"]
    return stats


async def _gauge(http: httpx.AsyncClient, server: ServerProcess) -> int:
    text = (await http.get(f"{server.url}/metrics")).text
    return next(
        int(line.split()[1])
        for line in text.splitlines()
        if line.startswith("tasklive_connections ")
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_is_a_connection_in_stats_and_metrics_until_it_closes(
    server: ServerProcess, world: World, gql: GraphQLClient, http: httpx.AsyncClient, kind: str
) -> None:
    task = await world.create_task()
    admin = token(unique("admin"), admin=True)
    viewer = world.ids["viewer"]

    async def connections(count: int) -> bool:
        stats = await _stats(gql, admin)
        return stats["connections"] == count and await _gauge(http, server) == count

    await eventually(lambda: connections(0))  # what earlier tests opened is closed
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as streams,
        viewer_stream(streams, server.graphql_url, world, task["id"], kind),
    ):
        await eventually(lambda: connections(1))
        await world.wait_for_viewers(task["id"])  # the subscription joins its room
        stats = await _stats(gql, admin)
        assert stats["userRooms"] == [{"user": {"id": viewer}, "rooms": [f"task:{task['id']}"]}]
        assert stats["connections"] == 1
    # The client went away: the stream leaves the counts and the room.
    await eventually(lambda: connections(0))
    await eventually(lambda: _without(world, task["id"], viewer))
    stats = await _stats(gql, admin)
    assert viewer not in [entry["user"]["id"] for entry in stats["userRooms"]]


@pytest.fixture
def own_server(server: ServerProcess, database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own on the session's (migrated) database, with a long shutdown grace."""
    proc = make_server(tmp_path, database_url, SHUTDOWN_GRACE_SECONDS="30")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


async def test_shutdown_ends_the_streams_at_once_like_a_dropped_connection(
    own_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(own_server.graphql_url, http)
    world = await World(gql).setup()
    task = await world.create_task()
    async with httpx.AsyncClient(timeout=TIMEOUT) as streams:

        async def read_to_the_end(kind: str, opened: asyncio.Event) -> str:
            async with viewer_stream(
                streams, own_server.graphql_url, world, task["id"], kind
            ) as response:
                opened.set()
                return "".join([text async for text in response.aiter_text()])

        opened = {kind: asyncio.Event() for kind in KINDS}
        async with asyncio.TaskGroup() as group:  # no reader is left behind
            readers = {k: group.create_task(read_to_the_end(k, opened[k])) for k in KINDS}
            async with asyncio.timeout(TIMEOUT):
                await asyncio.gather(*(e.wait() for e in opened.values()))
            admin = token(unique("admin"), admin=True)
            await eventually(lambda: _subscribers(gql, admin, f"task:{task['id']}", 2))

            signalled = time.monotonic()
            assert own_server.proc is not None
            own_server.proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(5):  # the grace period is 30 s: the streams end at once
                bodies = {kind: await reader for kind, reader in readers.items()}
    # A clean exit (uvicorn re-raises the signal it handled), well within the grace period.
    code = await asyncio.to_thread(own_server.proc.wait, 10)
    assert code in (0, -signal.SIGTERM) and "Finished server process" in own_server.log()
    assert time.monotonic() - signalled < 10
    # Neither `complete` nor the closing boundary: clients retry and resume, as after 1001.
    assert "event: complete" not in bodies[SSE]
    assert "--graphql--" not in bodies[MULTIPART]


async def _subscribers(gql: GraphQLClient, admin: str, room: str, count: int) -> bool:
    data = await gql.data("{ realtimeStats { rooms { room subscribers } } }", token=admin)
    return {"room": room, "subscribers": count} in data["realtimeStats"]["rooms"]
