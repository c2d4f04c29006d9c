"""A small GraphQL-over-WebSocket client (both protocols) on the `websockets` library."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
TIMEOUT = 10.0


class GraphQLWS:
    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._ids = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message, skipping keep-alive pings/pongs."""
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") in ("ping", "pong", "ka"):
                continue
            return message

    async def init(self, payload: dict[str, Any] | None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload})
        return await self.recv()

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, *, op_id: str | None = None
    ) -> str:
        self._ids += 1
        op_id = op_id or str(self._ids)
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )
        return op_id

    async def complete(self, op_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.send({"id": op_id, "type": kind})

    async def next_data(self, op_id: str | None = None, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The `data` of the next result; fails on an error, a complete or another id."""
        message = await self.recv(timeout)
        kind = "next" if self.protocol == TRANSPORT_WS else "data"
        assert message.get("type") == kind, message
        if op_id is not None:
            assert message["id"] == op_id, message
        payload = message["payload"]
        assert not payload.get("errors"), payload
        data: dict[str, Any] = payload["data"]
        return data

    async def closed_with(self, timeout: float = TIMEOUT) -> int | None:
        """Wait for the server to close the socket (draining what it sent); its close code."""

        async def drain() -> None:
            try:
                while True:
                    await self.ws.recv()
            except websockets.ConnectionClosed:
                return

        await asyncio.wait_for(drain(), timeout)
        return self.ws.close_code


@asynccontextmanager
async def connect(
    url: str,
    *,
    token: str | None = None,
    protocol: str = TRANSPORT_WS,
    init: bool = True,
    **kwargs: Any,
) -> AsyncIterator[GraphQLWS]:
    async with websockets.connect(
        url,
        subprotocols=[Subprotocol(protocol)],
        open_timeout=TIMEOUT,
        close_timeout=2,
        **kwargs,
    ) as ws:
        client = GraphQLWS(ws, protocol)
        if init:
            ack = await client.init({"authorization": f"Bearer {token}"} if token else {})
            assert ack["type"] == "connection_ack", ack
        yield client
