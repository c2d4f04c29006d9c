"""Subscriptions over HTTP: Server-Sent Events and Apollo's multipart protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.client import GraphQLClient, World
from tests.support.servers import ServerProcess

QUERY = "subscription($t: ID!) { taskUpdated(taskId: $t) { task { version status } } }"
TIMEOUT = 10


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    event, data = "", []
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and (event or data):
            yield event, "\n".join(data)
            event, data = "", []


async def multipart_payloads(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\r\n--graphql" in buffer:
            part, buffer = buffer.split("\r\n--graphql", 1)
            body = part.split("\r\n\r\n", 1)[-1].strip()
            if body.startswith("{"):
                parsed: dict[str, Any] = json.loads(body)
                if parsed:  # `{}` is a heartbeat
                    yield parsed


async def change(gql: GraphQLClient, world: World, task_id: str, status: str) -> None:
    await gql.data(
        "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) { version } }",
        {"t": task_id, "s": status},
        token=world.tokens["member"],
    )


async def test_server_sent_events_subscription(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        http.stream(
            "POST",
            server.graphql_url,
            json={"query": QUERY, "variables": {"t": task["id"]}},
            headers={
                "accept": "text/event-stream",
                "authorization": f"Bearer {world.tokens['viewer']}",
            },
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        await world.wait_for_viewers(task["id"])
        await change(gql, world, task["id"], "IN_PROGRESS")
        events = sse_events(response)
        async with asyncio.timeout(TIMEOUT):
            async for kind, data in events:
                if kind == "next":
                    payload = json.loads(data)
                    assert payload["data"]["taskUpdated"]["task"] == {
                        "version": 2,
                        "status": "IN_PROGRESS",
                    }
                    break


async def test_multipart_subscription_for_apollo(
    server: ServerProcess, world: World, gql: GraphQLClient
) -> None:
    task = await world.create_task()
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        http.stream(
            "POST",
            server.graphql_url,
            json={"query": QUERY, "variables": {"t": task["id"]}},
            headers={
                "accept": 'multipart/mixed;subscriptionSpec="1.0",application/json',
                "authorization": f"Bearer {world.tokens['viewer']}",
            },
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed")
        await world.wait_for_viewers(task["id"])
        await change(gql, world, task["id"], "COMPLETED")
        async with asyncio.timeout(TIMEOUT):
            async for part in multipart_payloads(response):
                assert part["payload"]["data"]["taskUpdated"]["task"] == {
                    "version": 2,
                    "status": "COMPLETED",
                }
                break


async def test_http_subscription_without_a_token_is_refused(
    server: ServerProcess, world: World
) -> None:
    task = await world.create_task()
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        http.stream(
            "POST",
            server.graphql_url,
            json={"query": QUERY, "variables": {"t": task["id"]}},
            headers={"accept": "text/event-stream"},
        ) as response,
    ):
        async with asyncio.timeout(TIMEOUT):
            async for kind, data in sse_events(response):
                if kind == "next":
                    payload = json.loads(data)
                    assert payload["data"] is None
                    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                    break
