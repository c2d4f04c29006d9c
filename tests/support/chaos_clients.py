"""The chaos run's clients: resuming `taskEvents` subscribers and an idempotent writer.

Subscribers keep every cursor they receive (interned as small ints: 200 subscribers times
thousands of events), resume with their last cursor per project whenever their socket
drops, and time the gaps they see. The writer changes task titles to unique values, so a
change retried after a connection error (which may or may not have committed) is at most
a no-op: every requested change commits exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.servers import ServerProcess

log = logging.getLogger("tasklive.chaos")

SUBSCRIBE = (
    "subscription($p: ID!, $a: String) "
    "{ taskEvents(projectId: $p, after: $a) { cursor projectId } }"
)
UPDATE = (
    "mutation($t: ID!, $title: String!) { updateTask(id: $t, input: {title: $title}) { version } }"
)
PROBE = "probe"
RETRYABLE_CODES = frozenset({"INTERNAL_SERVER_ERROR", "RATE_LIMITED"})


class ChaosError(RuntimeError):
    pass


@dataclass
class Shared:
    """State every client reads or updates: cursor interning and the run's clock."""

    interned: dict[str, int] = field(default_factory=dict)
    write_started: float | None = None
    closes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def intern(self, cursor: str) -> int:
        found = self.interned.get(cursor)
        if found is None:
            found = self.interned[cursor] = len(self.interned)
        return found


class Subscriber:
    """One WebSocket with a `taskEvents` subscription per project the user may see."""

    def __init__(
        self,
        index: int,
        *,
        token: str,
        projects: dict[str, str | None],
        forbidden: str | None,
        servers: list[ServerProcess],
        shared: Shared,
        rng: random.Random,
    ) -> None:
        self.index = index
        self.token = token
        self.projects = list(projects)
        self.last = dict(projects)  # project -> last cursor received (the resume point)
        self.received = {p: array("q") for p in projects}
        self.forbidden = forbidden
        self.servers = servers
        self.shared = shared
        self.rng = rng
        self.ws: ClientConnection | None = None
        self.subscribed = asyncio.Event()
        self.caught_up = asyncio.Event()
        self._targets: dict[str, int] | None = None
        self.probe_leaks = 0
        self.probe_refused = False
        self.reconnects = 0
        # (when, server port, resume cursors) of each session: what a failure report shows.
        self.sessions: list[tuple[float, int, dict[str, str | None]]] = []
        self.received_count = 0
        self.max_gap = 0.0
        self.max_outage = 0.0
        self._last_time: float | None = None
        self._dropped_at: float | None = None

    # -- running

    async def run(self) -> None:
        server = self.index % len(self.servers)
        attempt = 0
        while True:
            before = self.received_count
            try:
                await self._session(self.servers[server])
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else "no close frame"
                self.shared.closes[str(code)] += 1
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                self.shared.closes[type(exc).__name__] += 1
            self.ws = None
            if self._dropped_at is None:
                self._dropped_at = time.monotonic()
            self.reconnects += 1
            attempt = 1 if self.received_count > before else attempt + 1
            await asyncio.sleep(min(1.0, 0.02 * 2 ** min(attempt, 6)) * self.rng.uniform(0.5, 1.5))
            server = self.rng.randrange(len(self.servers))

    async def _session(self, server: ServerProcess) -> None:
        async with websockets.connect(
            server.ws_url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            open_timeout=5,
            close_timeout=1,
            compression=None,
            max_queue=1024,
        ) as ws:
            await ws.send(_json({"type": "connection_init", "payload": {"token": self.token}}))
            ack = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            if ack.get("type") != "connection_ack":
                self.shared.errors[f"no connection_ack: {ack}"] += 1
                return
            self.sessions.append((time.monotonic(), server.port, dict(self.last)))
            ops: dict[str, str] = {}
            for i, project in enumerate(self.projects):
                ops[str(i)] = project
                variables = {"p": project, "a": self.last[project]}
                await ws.send(_subscribe(str(i), SUBSCRIBE, variables))
            if self.forbidden is not None and not self.probe_refused:
                await ws.send(_subscribe(PROBE, SUBSCRIBE, {"p": self.forbidden, "a": None}))
            self.ws = ws
            self.subscribed.set()
            async for raw in ws:
                if not await self._handle(ws, orjson.loads(raw), ops):
                    return
            self.shared.closes[str(ws.close_code)] += 1  # 1000 or 1001: a clean close

    async def _handle(
        self, ws: ClientConnection, message: dict[str, Any], ops: dict[str, str]
    ) -> bool:
        """Take one server message; False when the session must start again."""
        kind = message.get("type")
        if kind == "next":
            payload = message.get("payload") or {}
            if message.get("id") == PROBE:
                self._probed(payload)
                return True
            if payload.get("errors"):
                code = _code(payload)
                if code != "SLOW_CONSUMER":
                    self.shared.errors[f"subscription error {code}"] += 1
                return False
            event = payload["data"]["taskEvents"]
            self._receive(ops[message["id"]], event["cursor"])
            return True
        if kind == "ping":
            await ws.send(_json({"type": "pong"}))
            return True
        if kind == "complete" and message.get("id") == PROBE:
            return True
        if kind != "pong":
            self.shared.errors[f"unexpected {kind} message"] += 1
            return False
        return True

    def _probed(self, payload: dict[str, Any]) -> None:
        if payload.get("data"):
            self.probe_leaks += 1
        elif _code(payload) in ("FORBIDDEN", "NOT_FOUND"):
            self.probe_refused = True
        else:
            self.shared.errors[f"probe answered {payload}"] += 1

    def _receive(self, project: str, cursor: str) -> None:
        now = time.monotonic()
        cid = self.shared.intern(cursor)
        self.received[project].append(cid)
        self.received_count += 1
        self.last[project] = cursor
        started = self.shared.write_started
        if started is not None and not self.caught_up.is_set():
            previous = max(started, self._last_time or started)
            self.max_gap = max(self.max_gap, now - previous)
        self._last_time = now
        if self._dropped_at is not None:
            self.max_outage = max(self.max_outage, now - self._dropped_at)
            self._dropped_at = None
        if self._targets is not None and self._targets.get(project) == cid:
            del self._targets[project]
            if not self._targets:
                self.caught_up.set()

    def expect_last(self, targets: dict[str, str]) -> None:
        """The final cursor of each project: `caught_up` is set once all have arrived."""
        self._targets = {
            p: self.shared.intern(c)
            for p, c in targets.items()
            if p in self.received and self.last[p] != c
        }
        if not self._targets:
            self.caught_up.set()

    def drop(self) -> bool:
        """Cut the connection as a network fault would (no close frame)."""
        ws = self.ws
        if ws is None:
            return False
        ws.transport.abort()
        return True


class Writer:
    """`changes` title changes over the tasks, in lanes that each own some tasks."""

    def __init__(
        self,
        *,
        servers: list[ServerProcess],
        http: httpx.AsyncClient,
        token: str,
        tasks: list[str],
        changes: int,
        lanes: int,
        rate: float | None,
    ) -> None:
        self.servers = servers
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"}
        self.tasks = tasks
        self.changes = changes
        self.lanes = max(1, min(lanes, len(tasks)))
        self.rate = rate
        self.done = 0
        self.retries: Counter[str] = Counter()
        self._marks: list[tuple[int, asyncio.Event]] = []

    def reached(self, fraction: float) -> asyncio.Event:
        """An event set once `fraction` of the changes are done."""
        event = asyncio.Event()
        self._marks.append((int(self.changes * fraction), event))
        self._progress()
        return event

    def _progress(self) -> None:
        for mark, event in self._marks:
            if self.done >= mark:
                event.set()

    async def run(self) -> None:
        started = time.monotonic()
        await asyncio.gather(*(self._lane(lane, started) for lane in range(self.lanes)))

    async def _lane(self, lane: int, started: float) -> None:
        own = self.tasks[lane :: self.lanes]
        for k, n in enumerate(range(lane, self.changes, self.lanes)):
            if self.rate:
                with contextlib.suppress(ValueError):
                    await asyncio.sleep(max(0.0, started + n / self.rate - time.monotonic()))
            await self._change(own[k % len(own)], f"change {n}", first=n % len(self.servers))
            self.done += 1
            self._progress()

    async def _change(self, task_id: str, title: str, *, first: int) -> None:
        body = {"query": UPDATE, "variables": {"t": task_id, "title": title}}
        deadline = time.monotonic() + 60
        attempt = 0
        while True:
            server = self.servers[(first + attempt) % len(self.servers)]
            try:
                reply = await self.http.post(server.graphql_url, json=body, headers=self.headers)
                if reply.status_code == 200:
                    result = reply.json()
                    if not result.get("errors"):
                        return
                    reason = str(_code(result))
                    if reason not in RETRYABLE_CODES:
                        raise ChaosError(f"change refused: {result}")
                elif reply.status_code < 500 and reply.status_code != 429:
                    raise ChaosError(f"change refused with {reply.status_code}: {reply.text}")
                else:
                    reason = f"HTTP {reply.status_code}"
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            attempt += 1
            self.retries[reason] += 1
            if time.monotonic() > deadline:
                raise ChaosError("the writer reached no server for 60 s")
            if attempt % len(self.servers) == 0:
                await asyncio.sleep(min(1.0, 0.05 * attempt))


def _code(payload: dict[str, Any]) -> str | None:
    errors = payload.get("errors") or [{}]
    code = (errors[0].get("extensions") or {}).get("code")
    return str(code) if code is not None else None


def _json(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def _subscribe(op_id: str, query: str, variables: dict[str, Any]) -> str:
    return _json(
        {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )
