"""Subscriptions over HTTP for the tests: Server-Sent Events and Apollo's multipart protocol,
read with httpx as a client would, one message at a time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

SSE = "sse"
MULTIPART = "multipart"
ACCEPT = {
    SSE: "text/event-stream",
    MULTIPART: 'multipart/mixed;subscriptionSpec="1.0",application/json',
}


@dataclass
class StreamMessage:
    """One message of a stream: SSE `next`/`complete`, or a multipart part (`next` for a
    `payload`, `error` for a transport error's top-level `errors`)."""

    kind: str
    body: dict[str, Any]

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = self.body.get("errors") or []
        if isinstance(self.body.get("payload"), dict):
            errors = errors + (self.body["payload"].get("errors") or [])
        return errors

    @property
    def data(self) -> dict[str, Any] | None:
        source = self.body.get("payload") if "payload" in self.body else self.body
        return source.get("data") if isinstance(source, dict) else None


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
    """Each part's JSON, heartbeats (`{}`) left out."""
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\r\n--graphql" in buffer:
            part, buffer = buffer.split("\r\n--graphql", 1)
            body = part.split("\r\n\r\n", 1)[-1].strip()
            if body.startswith("{"):
                parsed: dict[str, Any] = json.loads(body)
                if parsed:
                    yield parsed


async def messages(response: httpx.Response, kind: str) -> AsyncIterator[StreamMessage]:
    """The stream's messages, in either protocol, until it ends."""
    if kind == SSE:
        async for event, data in sse_events(response):
            yield StreamMessage(event, json.loads(data) if data else {})
        return
    async for part in multipart_payloads(response):
        yield StreamMessage("next" if part.get("payload") is not None else "error", part)


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None,
    kind: str = SSE,
) -> AsyncIterator[httpx.Response]:
    """A subscription request over `kind`; the response, its body not yet read."""
    headers = {"accept": ACCEPT[kind]}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with http.stream(
        "POST", url, json={"query": query, "variables": variables or {}}, headers=headers
    ) as response:
        yield response
