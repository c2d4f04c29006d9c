"""Presence benchmark: what a join or leave costs, with 1 or many `viewersChanged` watchers.

Starts its own server (bench/fanout.py's `Servers`: SQLite, `memory://` or its own
redis-server), puts S subscriptions of one user in a project's room (`taskEvents`, 100 a
socket), opens W `viewersChanged` watchers of that room (another user, 25 a socket), then:

- cost: N joins and N leaves of a third user, one at a time, each awaited at every
  watcher: server CPU per change (from /proc/<pid>/stat), the time from sending the change
  to the last watcher's receipt, and the room rebuilds per change (from /metrics, when the
  server exports `tasklive_presence_rebuilds_total`);
- churn: for D seconds the third user joins J times a second (each join left half a period
  later) while /healthz is requested every 50 ms: its latency (p50, p95, max) and the
  server's CPU share.

Each scenario runs R times on a fresh server; the medians of the runs are printed.

    python bench/presence.py                     # 1 and 100 watchers x 100 subscriptions
    python bench/presence.py --redis             # the same over Redis (snapshots read from it)
    python bench/presence.py -w 1 -w 100 -s 100 --runs 5 --changes 20 --churn-seconds 5

To measure another checkout's server (say the code before a change), put it first on
PYTHONPATH: `PYTHONPATH=/path/to/old/checkout python bench/presence.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import SECRET, Scenario, Servers  # noqa: E402

from graph.auth.tokens import mint_token  # noqa: E402
from graph.settings import Settings  # noqa: E402

JOIN = "subscription($p: ID!) { taskEvents(projectId: $p) { cursor } }"
WATCH = "subscription($p: ID!) { viewersChanged(projectId: $p) { room viewers { id name } } }"
REBUILDS = "tasklive_presence_rebuilds_total"
WAIT = 60.0
SETTINGS = Settings(jwt_secret=SECRET, tasklive_env="test")


def token(sub: str, *, admin: bool = False) -> str:
    return mint_token(SETTINGS, sub=sub, name=sub, admin=admin)


@dataclass
class Figures:
    """One run's figures (or the medians of several)."""

    watchers: int
    subscriptions: int
    cpu_ms_per_change: float = 0.0
    ms_to_last_watcher: float = 0.0
    rebuilds_per_change: float = float("nan")
    healthz_p50_ms: float = 0.0
    healthz_p95_ms: float = 0.0
    healthz_max_ms: float = 0.0
    churn_cpu_share: float = 0.0


class Socket:
    """One graphql-transport-ws connection; counts the results it receives."""

    def __init__(self, url: str, token: str, arrived: asyncio.Event) -> None:
        self.url = url
        self.token = token
        self.results = 0
        self._arrived = arrived
        self._ids = 0
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._ws = await websockets.connect(
            self.url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_size=2**24,
            ping_interval=None,
        )
        await self._ws.send(
            json.dumps({"type": "connection_init", "payload": {"token": self.token}})
        )
        assert json.loads(await self._ws.recv())["type"] == "connection_ack"
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self._ws:
                message = json.loads(raw)
                if message.get("type") == "next":
                    assert not message["payload"].get("errors"), message
                    self.results += 1
                    self._arrived.set()
                elif message.get("type") == "error":
                    raise AssertionError(message)

    async def subscribe(self, query: str, variables: dict[str, str]) -> str:
        self._ids += 1
        op = str(self._ids)
        payload = {"query": query, "variables": variables}
        await self._ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
        return op

    async def complete(self, op: str) -> None:
        await self._ws.send(json.dumps({"id": op, "type": "complete"}))

    async def close(self) -> None:
        await self._ws.close()
        if self._reader is not None:
            await self._reader


class Room:
    """The clients of one scenario: holders of S subscriptions, W watchers, one joiner."""

    def __init__(self, ws_url: str, project_id: str, users: dict[str, str]) -> None:
        self.ws_url = ws_url
        self.variables = {"p": project_id}
        self.users = users
        self.arrived = asyncio.Event()
        self.watching: list[Socket] = []
        self.sockets: list[Socket] = []

    async def _sockets(self, user: str, count: int) -> list[Socket]:
        sockets = [Socket(self.ws_url, token(self.users[user]), self.arrived) for _ in range(count)]
        await asyncio.gather(*(s.open() for s in sockets))
        self.sockets += sockets
        return sockets

    async def open(self, http: httpx.AsyncClient, *, watchers: int, subscriptions: int) -> Socket:
        """The holder's subscriptions (all in the room), then the watchers and the joiner."""
        for i, holder in enumerate(await self._sockets("holder", -(-subscriptions // 100))):
            for _ in range(min(100, subscriptions - 100 * i)):
                await holder.subscribe(JOIN, self.variables)
        await in_room(http, self.ws_url.replace("ws://", "http://"), subscriptions)
        self.watching = await self._sockets("watcher", -(-watchers // 25))
        for i, socket in enumerate(self.watching):
            for _ in range(min(25, watchers - 25 * i)):
                await socket.subscribe(WATCH, self.variables)
        (joiner,) = await self._sockets("joiner", 1)
        return joiner

    def received(self) -> int:
        return sum(s.results for s in self.watching)

    async def until_received(self, total: int) -> None:
        async with asyncio.timeout(WAIT):
            while self.received() < total:
                self.arrived.clear()
                await self.arrived.wait()

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def graphql(
    http: httpx.AsyncClient, url: str, query: str, variables: dict[str, str], user: str
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token(user)}"}
    response = await http.post(url, json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


async def set_up(http: httpx.AsyncClient, url: str) -> tuple[str, dict[str, str]]:
    """A project whose members are a holder of subscriptions, a watcher and a joiner."""
    stamp = f"{time.time_ns():x}"
    users = {role: f"bench-{role}-{stamp}" for role in ("owner", "holder", "watcher", "joiner")}
    for user in users.values():
        await graphql(http, url, "{ me { id } }", {}, user)
    create = 'mutation { createProject(name: "presence") { id } }'
    project_id = str((await graphql(http, url, create, {}, users["owner"]))["createProject"]["id"])
    add = "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u) { role } }"
    for role in ("holder", "watcher", "joiner"):
        await graphql(http, url, add, {"p": project_id, "u": users[role]}, users["owner"])
    return project_id, users


async def in_room(http: httpx.AsyncClient, url: str, subscriptions: int) -> None:
    """Until every subscription has joined the room (their joins are not counted later)."""
    headers = {"authorization": f"Bearer {token('bench-admin', admin=True)}"}
    query = "{ realtimeStats { rooms { subscribers } } }"
    async with asyncio.timeout(WAIT):
        while True:
            response = await http.post(url, json={"query": query}, headers=headers)
            rooms = response.json()["data"]["realtimeStats"]["rooms"]
            if sum(r["subscribers"] for r in rooms) >= subscriptions:
                return
            await asyncio.sleep(0.05)


async def rebuilds(http: httpx.AsyncClient, base: str) -> float | None:
    """The server's presence rebuilds so far (None when it does not count them)."""
    for line in (await http.get(f"{base}/metrics")).text.splitlines():
        name, _, value = line.partition(" ")
        if name == REBUILDS:
            return float(value)
    return None


async def measure_cost(
    room: Room, joiner: Socket, cpu: Callable[[], float], http: httpx.AsyncClient, base: str, n: int
) -> tuple[float, float, float]:
    """CPU ms per change, ms to the last watcher, rebuilds per change (nan if not counted)."""
    watchers = room.received()  # each has its first list by now
    expected = watchers
    before = await rebuilds(http, base)
    latencies = []
    cpu_before = cpu()
    for _ in range(n):
        op = ""
        for leave in (False, True):
            started = time.perf_counter()
            if leave:
                await joiner.complete(op)
            else:
                op = await joiner.subscribe(JOIN, room.variables)
            expected += watchers
            await room.until_received(expected)
            latencies.append(time.perf_counter() - started)
    cpu_ms = (cpu() - cpu_before) * 1000 / (2 * n)
    after = await rebuilds(http, base)
    per_change = float("nan")
    if before is not None and after is not None:
        per_change = (after - before) / (2 * n)
    return cpu_ms, statistics.median(latencies) * 1000, per_change


async def measure_churn(
    room: Room,
    joiner: Socket,
    cpu: Callable[[], float],
    http: httpx.AsyncClient,
    base: str,
    *,
    joins_per_second: float,
    seconds: float,
) -> tuple[list[float], float]:
    """/healthz latencies (s) while the joiner churns, and the server's CPU share meanwhile."""
    period = 1 / joins_per_second
    latencies: list[float] = []

    async def churn() -> None:
        while True:
            op = await joiner.subscribe(JOIN, room.variables)
            await asyncio.sleep(period / 2)
            await joiner.complete(op)
            await asyncio.sleep(period / 2)

    async def probe() -> None:
        while True:
            started = time.perf_counter()
            response = await http.get(f"{base}/healthz")
            assert response.status_code == 200
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    cpu_before, started = cpu(), time.perf_counter()
    tasks = [asyncio.create_task(churn()), asyncio.create_task(probe())]
    await asyncio.sleep(seconds)  # the load runs for a fixed time: this is what is measured
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    share = (cpu() - cpu_before) / (time.perf_counter() - started)
    return latencies, share


async def run(
    servers: Servers, *, watchers: int, subscriptions: int, args: argparse.Namespace
) -> Figures:
    base = f"http://127.0.0.1:{servers.ports[0]}"
    url = f"{base}/graphql"
    async with httpx.AsyncClient(timeout=60) as http:
        project_id, users = await set_up(http, url)
        room = Room(f"ws://127.0.0.1:{servers.ports[0]}/graphql", project_id, users)
        try:
            joiner = await room.open(http, watchers=watchers, subscriptions=subscriptions)
            await room.until_received(watchers)  # every watcher has the current list
            cpu_ms, ms_last, per_change = await measure_cost(
                room, joiner, servers.cpu, http, base, args.changes
            )
            healthz, share = await measure_churn(
                room,
                joiner,
                servers.cpu,
                http,
                base,
                joins_per_second=args.joins_per_second,
                seconds=args.churn_seconds,
            )
        finally:
            await room.close()
    healthz_ms = sorted(x * 1000 for x in healthz)
    return Figures(
        watchers=watchers,
        subscriptions=subscriptions,
        cpu_ms_per_change=cpu_ms,
        ms_to_last_watcher=ms_last,
        rebuilds_per_change=per_change,
        healthz_p50_ms=statistics.median(healthz_ms),
        healthz_p95_ms=healthz_ms[int(0.95 * (len(healthz_ms) - 1))],
        healthz_max_ms=healthz_ms[-1],
        churn_cpu_share=share,
    )


def medians(runs: list[Figures]) -> Figures:
    values = {
        f.name: statistics.median(getattr(r, f.name) for r in runs)
        for f in fields(Figures)
        if f.name not in ("watchers", "subscriptions")
    }
    return Figures(watchers=runs[0].watchers, subscriptions=runs[0].subscriptions, **values)


def print_table(rows: list[tuple[Figures, int]]) -> None:
    header = (
        f"{'watchers':>8} {'subs':>5} {'runs':>4} {'cpu ms/change':>13} {'ms to last':>10} "
        f"{'rebuilds/change':>15} {'healthz p50':>11} {'p95':>7} {'max':>7} {'churn cpu':>9}"
    )
    print(header)
    for f, runs in rows:
        print(
            f"{f.watchers:>8} {f.subscriptions:>5} {runs:>4} {f.cpu_ms_per_change:>13.2f} "
            f"{f.ms_to_last_watcher:>10.1f} {f.rebuilds_per_change:>15.2f} "
            f"{f.healthz_p50_ms:>11.1f} {f.healthz_p95_ms:>7.1f} {f.healthz_max_ms:>7.1f} "
            f"{f.churn_cpu_share:>9.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-w", "--watchers", type=int, action="append", help="default: 1 and 100")
    parser.add_argument("-s", "--subscriptions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--changes", type=int, default=10, help="joins (and as many leaves)")
    parser.add_argument("--joins-per-second", type=float, default=10.0)
    parser.add_argument("--churn-seconds", type=float, default=5.0)
    parser.add_argument("--redis", action="store_true", help="BROADCAST_URL on a redis-server")
    args = parser.parse_args()
    broadcast = "redis" if args.redis else "memory"
    print(f"broadcast {broadcast}; medians of {args.runs} run(s), each on a fresh server")
    rows = []
    for watchers in args.watchers or [1, 100]:
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="tasklive-presence-") as workdir:
                servers = Servers(
                    Scenario("presence", watchers, broadcast=broadcast), Path(workdir)
                )
                try:
                    servers.start(1)
                    runs.append(
                        asyncio.run(
                            run(
                                servers,
                                watchers=watchers,
                                subscriptions=args.subscriptions,
                                args=args,
                            )
                        )
                    )
                finally:
                    servers.stop()
        rows.append((medians(runs), len(runs)))
    print_table(rows)


if __name__ == "__main__":
    main()
