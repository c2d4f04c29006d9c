"""The benchmark's yardstick: uvicorn + Starlette sending one prebuilt frame per subscriber.

No GraphQL, no database, no auth: a WebSocket endpoint that speaks just enough
graphql-transport-ws for the load generator (init -> ack, subscribe -> registered) and an
HTTP endpoint that, for each "mutation", builds the `next` frame once and sends it to every
subscriber of the task with `await websocket.send_text(...)`. Run by bench/fanout.py:

    python -m uvicorn baseline:app --app-dir bench --port 8100
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

subscribers: dict[str, dict[WebSocket, str]] = defaultdict(dict)
versions: dict[str, int] = defaultdict(lambda: 1)
background: set[asyncio.Task[None]] = set()


async def fan_out(task_id: str, frame: str) -> None:
    for ws in list(subscribers[task_id]):
        try:
            await ws.send_text(frame)
        except Exception:
            subscribers[task_id].pop(ws, None)


async def graphql(request: Request) -> Response:
    body = await request.json()
    query: str = body.get("query", "")
    variables = body.get("variables") or {}
    if "realtimeStats" in query:
        count = sum(len(s) for s in subscribers.values())
        return JSONResponse({"data": {"realtimeStats": {"subscriptions": count}}})
    task_id, status = variables["t"], variables["s"]
    versions[task_id] += 1
    version = versions[task_id]
    payload = {
        "data": {"taskUpdated": {"task": {"id": task_id, "version": version, "status": status}}}
    }
    frame = json.dumps({"id": "0", "type": "next", "payload": payload})
    task = asyncio.create_task(fan_out(task_id, frame))
    background.add(task)
    task.add_done_callback(background.discard)
    return JSONResponse({"data": {"updateTaskStatus": {"version": version}}})


async def websocket(ws: WebSocket) -> None:
    await ws.accept(subprotocol="graphql-transport-ws")
    joined: list[str] = []
    try:
        while True:
            message = json.loads(await ws.receive_text())
            if message["type"] == "connection_init":
                await ws.send_text('{"type":"connection_ack"}')
            elif message["type"] == "subscribe":
                task_id = message["payload"]["variables"]["t"]
                subscribers[task_id][ws] = message["id"]
                joined.append(task_id)
    except WebSocketDisconnect:
        pass
    finally:
        for task_id in joined:
            subscribers[task_id].pop(ws, None)


async def ready(_: Request) -> Response:
    return JSONResponse({"ready": True})


app = Starlette(
    routes=[
        Route("/graphql", graphql, methods=["POST"]),
        WebSocketRoute("/graphql", websocket),
        Route("/readyz", ready),
    ]
)
