"""Faults, with nothing lost: two servers, Redis, PostgreSQL, resuming subscribers, a writer.

`ChaosCluster` starts the deployment (a throwaway PostgreSQL database, migrated; a
redis-server; two `tasklive serve` processes). `run_chaos` makes the users, projects and
tasks, opens the subscribers, runs the writer and the fault schedule at once, waits until
every subscriber has the last event of each project it may see, and compares what each one
received with the event log. Used by `bench/chaos.py` (full size) and `tests/chaos/`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.support.chaos_clients import ChaosError, Shared, Subscriber, Writer
from tests.support.client import token
from tests.support.redis import RedisServer
from tests.support.servers import (
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    make_server,
)

log = logging.getLogger("tasklive.chaos")

LOG_PAGE = 100  # MAX_PAGE_SIZE
EVENT_LOG = (
    "query($p: ID!, $a: String, $n: Int) { taskEvents(projectId: $p, after: $a, first: $n) "
    "{ cursor } }"
)
SERVER_ENV = {
    "PRESENCE_TTL_SECONDS": "3",
    "GAP_CHECK_INTERVAL_SECONDS": "1",
    "SHUTDOWN_GRACE_SECONDS": "5",
    "MAX_CONNECTIONS_PER_USER": "100000",
    "MAX_CONNECTIONS_PER_IP": "100000",  # every subscriber comes from 127.0.0.1
    "MUTATION_RATE_PER_SECOND": "0",  # one user writes thousands of changes: no limit
    "LOG_LEVEL": "WARNING",
}
OWNER = "chaos-owner"
SINGLE = "chaos-single-project"  # a VIEWER of the first project only: the leak check


@dataclass
class ChaosConfig:
    subscribers: int = 200
    changes: int = 5000
    tasks: int = 50
    projects: int = 2
    seed: int = 1
    timeout: float = 600.0  # the whole run, set-up to figures
    catch_up_timeout: float = 120.0  # after the last write, for every subscriber to catch up
    lanes: int = 4  # concurrent writers, each on its own tasks
    rate: float | None = None  # changes per second, all lanes together (None: as fast as possible)
    drops: int = 6  # rounds of dropped client connections
    drop_fraction: float = 0.15
    redis_restarts: int = 2
    server_kills: int = 1  # SIGKILL to the first server, then start it again
    server_terms: int = 1  # SIGTERM to the second server, then start it again
    members: int = 8  # users who see every project


@dataclass
class ChaosReport:
    changes: int = 0
    committed: int = 0
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    leaked: int = 0
    probes_refused: int = 0
    probes: int = 0
    lagging: int = 0
    longest_gap: float = 0.0
    longest_outage: float = 0.0
    reconnects: int = 0
    write_retries: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    write_seconds: float = 0.0
    catch_up_seconds: float = 0.0
    duration: float = 0.0
    servers_ready: bool = False
    examples: list[str] = field(default_factory=list)  # what went wrong, a few cases

    @property
    def ok(self) -> bool:
        return (
            self.lost == self.duplicated == self.reordered == self.leaked == 0
            and self.committed == self.changes
            and self.probes_refused == self.probes
            and self.servers_ready
        )

    def lines(self) -> list[str]:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        closes = ", ".join(f"{k}: {v}" for k, v in self.closes.most_common()) or "none"
        retries = ", ".join(f"{k}: {v}" for k, v in self.write_retries.most_common()) or "none"
        errors = "; ".join(f"{k} x{v}" for k, v in self.errors.most_common(5)) or "none"
        return [
            f"changes requested      {self.changes}",
            f"events sent            {self.committed} (committed, from the event log)",
            f"deliveries expected    {self.expected} (each subscriber x each event it may see)",
            f"delivered              {self.delivered}",
            f"lost                   {self.lost}",
            f"duplicated             {self.duplicated}",
            f"reordered              {self.reordered}",
            f"leaked                 {self.leaked} "
            f"(other-project probes refused: {self.probes_refused}/{self.probes})",
            f"longest gap            {self.longest_gap:.2f} s (most wall time one subscriber "
            "went without an event, from the first write until it held the last event)",
            f"longest outage         {self.longest_outage:.2f} s (from a subscriber's "
            "connection dropping to its next event after resuming)",
            f"reconnects             {self.reconnects} (a session ended and the subscriber "
            f"connected again, refused attempts included; how sessions ended: {closes})",
            f"faults injected        {faults}",
            f"writer retries         {sum(self.write_retries.values())} ({retries})",
            f"servers ready at end   {'yes' if self.servers_ready else 'NO'}",
            f"client errors          {errors}",
            f"duration               {self.duration:.1f} s (writing {self.write_seconds:.1f} s, "
            f"catching up after the last write {self.catch_up_seconds:.1f} s)",
            f"result                 {'OK' if self.ok else 'FAILED'}",
            *self.examples[:10],
        ]


class ChaosCluster:
    """A throwaway PostgreSQL database, a redis-server and two tasklive servers."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis = RedisServer(workdir)
        self.db_name: str | None = None
        self.servers: list[ServerProcess] = []

    def __enter__(self) -> ChaosCluster:
        try:
            self.db_name, url = create_pg_database()
            self.redis.start()
            env = {"BROADCAST_URL": self.redis.url, **SERVER_ENV}
            self.servers = [make_server(self.workdir, url, **env) for _ in range(2)]
            subprocess.run(
                [sys.executable, "-m", "graph.cli", "migrate"],
                env=self.servers[0].env,
                cwd=self.workdir,
                check=True,
                timeout=60,
                capture_output=True,
            )
            for server in self.servers:
                server.start(wait=False)
            for server in self.servers:
                server.wait_healthy(timeout=60)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for server in self.servers:
            server.stop(timeout=10)
        self.redis.stop()
        if self.db_name is not None:
            drop_pg_database(self.db_name)
            self.db_name = None


@dataclass
class World:
    owner: str
    projects: list[str]
    tasks: list[str]
    starts: dict[str, str | None]  # project -> its last cursor before the run


async def _gql(
    http: httpx.AsyncClient, server: ServerProcess, query: str, variables: dict[str, Any], tok: str
) -> dict[str, Any]:
    reply = await http.post(
        server.graphql_url,
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {tok}"},
    )
    body: dict[str, Any] = reply.json()
    if reply.status_code != 200 or body.get("errors"):
        raise ChaosError(f"{query[:60]!r} failed: {reply.status_code} {body}")
    data: dict[str, Any] = body["data"]
    return data


async def _make_world(http: httpx.AsyncClient, server: ServerProcess, config: ChaosConfig) -> World:
    owner = token(OWNER, name="Chaos owner")
    users = [OWNER, SINGLE, *(f"chaos-member-{i}" for i in range(config.members))]
    for user in users:
        await _gql(http, server, "{ me { id } }", {}, token(user, name=user))
    projects = []
    for p in range(config.projects):
        data = await _gql(
            http,
            server,
            "mutation($n: String!) { createProject(name: $n) { id } }",
            {"n": f"chaos {p}"},
            owner,
        )
        projects.append(data["createProject"]["id"])
    add = (
        "mutation($p: ID!, $u: ID!, $r: ProjectRole) "
        "{ addProjectMember(projectId: $p, userId: $u, role: $r) { role } }"
    )
    for i, project in enumerate(projects):
        for m in range(config.members):
            role = "MEMBER" if m % 2 else "VIEWER"
            await _gql(http, server, add, {"p": project, "u": users[2 + m], "r": role}, owner)
        if i == 0:
            await _gql(http, server, add, {"p": project, "u": SINGLE, "r": "VIEWER"}, owner)
    tasks = []
    for t in range(config.tasks):
        data = await _gql(
            http,
            server,
            "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
            {"i": {"projectId": projects[t % len(projects)], "title": f"task {t}"}},
            owner,
        )
        tasks.append(data["createTask"]["id"])
    starts: dict[str, str | None] = {}
    for project in projects:
        events = await _event_log(http, server, project, owner)
        starts[project] = events[-1] if events else None
    return World(owner=owner, projects=projects, tasks=tasks, starts=starts)


async def _event_log(
    http: httpx.AsyncClient, server: ServerProcess, project: str, tok: str
) -> list[str]:
    """Every cursor of the project's event log, in order."""
    cursors: list[str] = []
    after = None
    while True:
        data = await _gql(http, server, EVENT_LOG, {"p": project, "a": after, "n": LOG_PAGE}, tok)
        page = [e["cursor"] for e in data["taskEvents"]]
        cursors += page
        if len(page) < LOG_PAGE:
            return cursors
        after = page[-1]


def _subscribers(
    world: World, config: ChaosConfig, servers: list[ServerProcess], shared: Shared
) -> list[Subscriber]:
    """Every tenth subscriber is the single-project user; the others see every project."""
    subs = []
    for i in range(config.subscribers):
        single = i % 10 == 9 and len(world.projects) > 1
        user = SINGLE if single else f"chaos-member-{i % config.members}"
        visible = world.projects[:1] if single else world.projects
        subs.append(
            Subscriber(
                i,
                token=token(user, name=user),
                projects={p: world.starts[p] for p in visible},
                forbidden=world.projects[1] if single else None,
                servers=servers,
                shared=shared,
                rng=random.Random(config.seed * 100_003 + i),
            )
        )
    return subs


class FaultSchedule:
    """Faults at fixed fractions of the writer's progress, one after another."""

    def __init__(
        self,
        cluster: ChaosCluster,
        subs: list[Subscriber],
        writer: Writer,
        config: ChaosConfig,
        report: ChaosReport,
    ) -> None:
        self.cluster = cluster
        self.subs = subs
        self.rng = random.Random(config.seed)
        self.config = config
        self.faults = report.faults
        plan: list[tuple[float, str]] = [
            ((i + 0.5) / config.drops * 0.9, "drop") for i in range(config.drops)
        ]
        plan += [(f, "redis") for f in (0.2, 0.85, 0.5, 0.1)[: config.redis_restarts]]
        plan += [(0.35 + 0.1 * i, "kill") for i in range(config.server_kills)]
        plan += [(0.6 + 0.1 * i, "term") for i in range(config.server_terms)]
        self.plan = [(writer.reached(f), f, kind) for f, kind in sorted(plan)]

    async def run(self) -> None:
        for reached, fraction, kind in self.plan:
            await reached.wait()
            log.info("fault at %d%% of the writes: %s", round(fraction * 100), kind)
            await getattr(self, f"_{kind}")()

    async def _drop(self) -> None:
        count = max(1, round(len(self.subs) * self.config.drop_fraction))
        dropped = sum(s.drop() for s in self.rng.sample(self.subs, count))
        self.faults["client connections dropped"] += dropped

    async def _redis(self) -> None:
        redis = self.cluster.redis
        await asyncio.to_thread(redis.stop)
        self.faults["redis restarts"] += 1
        # Pacing: Redis stays away a while, and some clients drop meanwhile, so that they
        # resume on a server that has not heard of the other one's events yet.
        await asyncio.sleep(self.rng.uniform(0.3, 0.8))
        await self._drop()
        await asyncio.sleep(self.rng.uniform(0.3, 0.8))
        await asyncio.to_thread(redis.start)

    async def _kill(self) -> None:
        server = self.cluster.servers[0]
        await asyncio.to_thread(server.stop, sig=signal.SIGKILL)
        self.faults["server SIGKILL + restart"] += 1
        await asyncio.sleep(self.rng.uniform(0.2, 1.0))
        await asyncio.to_thread(server.start, timeout=60)

    async def _term(self) -> None:
        server = self.cluster.servers[1]
        code = await asyncio.to_thread(server.stop, sig=signal.SIGTERM, timeout=20)
        if code not in (0, -signal.SIGTERM):
            raise ChaosError(f"server on {server.port} exited with {code} after SIGTERM")
        self.faults["server SIGTERM + restart"] += 1
        await asyncio.to_thread(server.start, timeout=60)


async def run_chaos(cluster: ChaosCluster, config: ChaosConfig) -> ChaosReport:
    """Run the whole scenario within `config.timeout`; the figures, whatever they are."""
    report = ChaosReport(changes=config.changes)
    started = time.monotonic()
    shared = Shared()
    servers = cluster.servers
    async with httpx.AsyncClient(timeout=10) as http, asyncio.timeout(config.timeout):
        world = await _make_world(http, servers[0], config)
        subs = _subscribers(world, config, servers, shared)
        running = [asyncio.create_task(s.run(), name=f"subscriber-{s.index}") for s in subs]
        progress: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(60):
                await asyncio.gather(*(s.subscribed.wait() for s in subs))
            writer = Writer(
                servers=servers,
                http=http,
                token=world.owner,
                tasks=world.tasks,
                changes=config.changes,
                lanes=config.lanes,
                rate=config.rate,
            )
            schedule = FaultSchedule(cluster, subs, writer, config, report)
            progress = asyncio.create_task(_log_progress(writer, subs, report, started))
            log.info("%d subscribers in; writing %d changes", len(subs), config.changes)
            shared.write_started = time.monotonic()
            await asyncio.gather(writer.run(), schedule.run())
            written = time.monotonic()
            report.write_seconds = written - shared.write_started
            report.write_retries = writer.retries
            logs = {p: await _event_log(http, servers[0], p, world.owner) for p in world.projects}
            finals = {p: cursors[-1] for p, cursors in logs.items() if cursors}
            for sub in subs:
                sub.expect_last(finals)
            log.info("writes done; waiting for every subscriber to catch up")
            try:
                async with asyncio.timeout(config.catch_up_timeout):
                    await asyncio.gather(*(s.caught_up.wait() for s in subs))
            except TimeoutError:
                log.warning("not every subscriber caught up within %ss", config.catch_up_timeout)
            report.catch_up_seconds = time.monotonic() - written
            report.servers_ready = await _all_ready(http, servers)
        finally:
            if progress is not None:
                progress.cancel()
            for task in running:
                task.cancel()
            await asyncio.gather(
                *running, *([progress] if progress else []), return_exceptions=True
            )
    _count(report, world, logs, subs, shared)
    report.duration = time.monotonic() - started
    return report


async def _all_ready(http: httpx.AsyncClient, servers: list[ServerProcess]) -> bool:
    """Both servers answer /readyz (database and broker) within a few seconds."""

    async def ready(server: ServerProcess) -> bool:
        for _ in range(50):
            try:
                if (await http.get(f"{server.url}/readyz")).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        return False

    return all(await asyncio.gather(*(ready(s) for s in servers)))


def _count(
    report: ChaosReport,
    world: World,
    logs: dict[str, list[str]],
    subs: list[Subscriber],
    shared: Shared,
) -> None:
    """Compare what each subscriber holds with the log, after its start cursor."""
    position: dict[str, dict[int, int]] = {}
    expected: dict[str, int] = {}
    for project, cursors in logs.items():
        start = world.starts[project]
        first = cursors.index(start) + 1 if start is not None else 0
        expected[project] = len(cursors) - first
        report.committed += expected[project]
        ids = {shared.interned.get(c): i - first for i, c in enumerate(cursors)}
        position[project] = {cid: i for cid, i in ids.items() if cid is not None}
    for sub in subs:
        report.delivered += sub.received_count
        report.reconnects += sub.reconnects
        report.longest_gap = max(report.longest_gap, sub.max_gap)
        report.longest_outage = max(report.longest_outage, sub.max_outage)
        report.lagging += not sub.caught_up.is_set()
        if sub.forbidden is not None:
            report.probes += 1
            report.probes_refused += sub.probe_refused
            report.leaked += sub.probe_leaks
        for project, received in sub.received.items():
            report.expected += expected[project]
            seen: set[int] = set()
            furthest = -1
            for cid in received:
                index = position[project].get(cid)
                if index is None:
                    report.leaked += 1  # not an event of this project
                elif index < 0 or cid in seen:
                    report.duplicated += 1  # before its resume cursor, or again
                else:
                    seen.add(cid)
                    if index < furthest:
                        report.reordered += 1
                    furthest = max(furthest, index)
            missing = expected[project] - len(seen)
            report.lost += missing
            if missing and len(report.examples) < 10:
                report.examples.append(_explain(sub, project, logs[project], world, shared, seen))
    report.closes = shared.closes
    report.errors = shared.errors


async def _log_progress(
    writer: Writer, subs: list[Subscriber], report: ChaosReport, started: float
) -> None:
    while True:
        await asyncio.sleep(5)
        log.info(
            "%5.1fs: %d/%d changes written, %d events delivered, %d/%d subscribers connected, "
            "%d reconnects, faults: %s",
            time.monotonic() - started,
            writer.done,
            writer.changes,
            sum(s.received_count for s in subs),
            sum(s.ws is not None for s in subs),
            len(subs),
            sum(s.reconnects for s in subs),
            dict(report.faults) or "none yet",
        )


def _explain(
    sub: Subscriber,
    project: str,
    cursors: list[str],
    world: World,
    shared: Shared,
    seen: set[int],
) -> str:
    """Which events a subscriber missed, and the sessions it had (to read with server logs)."""
    start = world.starts[project]
    first = cursors.index(start) + 1 if start is not None else 0
    missed = [
        i - first
        for i, c in enumerate(cursors[first:], first)
        if shared.interned.get(c) not in seen
    ]
    sessions = [
        (round(when, 2), port, _position(cursors, after.get(project)) - first)
        for when, port, after in sub.sessions
    ]
    return (
        f"subscriber {sub.index} missed events {missed[:10]} of project {project[:8]} "
        "(log positions after its start); sessions (time, port, resumed after position): "
        f"{sessions}"
    )


def _position(cursors: list[str], cursor: str | None) -> int:
    return cursors.index(cursor) if cursor in cursors else -1
