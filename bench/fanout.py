"""Fan-out benchmark: N subscribers over K tasks, M status changes, latency and cost.

Starts its own tasklive server(s) (subprocesses of `tasklive serve`), opens N
graphql-transport-ws subscribers of `taskUpdated`, fires M mutations over HTTP (one after
the other, then C at a time) and prints, per scenario: latency from sending the mutation to
each subscriber's receipt (p50/p95/p99/max), deliveries per second, server CPU per delivery
(from /proc/<pid>/stat), server RSS per idle subscriber, the load generator's own CPU per
delivery, and a correctness line (missing, duplicate and out-of-order deliveries).

    python bench/fanout.py                      # the quick scenario (1,000 subscribers, 1 task)
    python bench/fanout.py --all                # every scenario of the README table
    python bench/fanout.py -n 5000 -k 1 -m 50   # one custom scenario

Results are appended as JSON lines to bench/results/fanout.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.auth.tokens import mint_token  # noqa: E402
from graph.settings import Settings  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

SECRET = "tasklive-bench-secret-0123456789abcdef"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SUBSCRIPTION = "subscription($t: ID!) { taskUpdated(taskId: $t) { task { id version status } } }"
MUTATION = "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) { version } }"
STATUSES = ["IN_PROGRESS", "COMPLETED", "PENDING", "CANCELLED"]
PROFILE_DIR: Path | None = None


@dataclass
class Scenario:
    name: str
    subscribers: int
    tasks: int = 1
    mutations: int = 50
    concurrency: int = 1
    broadcast: str = "memory"
    instances: int = 1


@dataclass
class Result:
    scenario: Scenario
    deliveries: int = 0
    expected: int = 0
    missing: int = 0
    duplicate: int = 0
    out_of_order: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    deliveries_per_s: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    client_cpu_us_per_delivery: float = 0.0
    server_kib_per_idle_subscriber: float = 0.0
    server_cpu_ms_per_subscriber: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


class Servers:
    """tasklive server processes (and a redis-server when asked) for one scenario."""

    def __init__(self, scenario: Scenario, workdir: Path, *, kind: str = "tasklive") -> None:
        self.kind = kind
        self.workdir = workdir
        self.redis: RedisServer | None = None
        self.procs: list[subprocess.Popen[bytes]] = []
        self.profilers: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/bench.db",
            JWT_SECRET=SECRET,
            TASKLIVE_ENV="test",
            LOG_LEVEL="WARNING",
            SUBSCRIBER_QUEUE_LIMIT="10000",
            MAX_CONNECTIONS_PER_USER="100000",
            # Every simulated client connects from 127.0.0.1, and one user makes the changes.
            MAX_CONNECTIONS_PER_IP="1000000",
            MUTATION_RATE_PER_SECOND="0",
        )
        if scenario.broadcast == "redis":
            self.redis = RedisServer(workdir)
            self.redis.start()
            env["BROADCAST_URL"] = self.redis.url
            if os.environ.get("BENCH_DATABASE_URL"):
                env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        self.env = env

    def start(self, count: int) -> None:
        for _ in range(count):
            port = free_port()
            log = (self.workdir / f"server-{port}.log").open("wb")
            if self.kind == "baseline":
                command = [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "baseline:app",
                    "--app-dir",
                    str(ROOT / "bench"),
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--ws-per-message-deflate",
                    "false",
                ]
            else:
                command = [sys.executable, "-m", "graph.cli", "serve", "--port", str(port)]
            self.procs.append(
                subprocess.Popen(
                    command, env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
                )
            )
            self.ports.append(port)
        for port in self.ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server on {port} did not start")
                time.sleep(0.1)
        if PROFILE_DIR is not None and self.kind == "tasklive":
            for proc, port in zip(self.procs, self.ports, strict=True):
                output = PROFILE_DIR / f"tasklive-{port}.txt"
                self.profilers.append(
                    subprocess.Popen(
                        [
                            "py-spy",
                            "record",
                            "--pid",
                            str(proc.pid),
                            "--rate",
                            "200",
                            "--format",
                            "raw",
                            "--output",
                            str(output),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

    def stop(self) -> None:
        for profiler in self.profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=30)
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.redis is not None:
            self.redis.stop()

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid) for p in self.procs)

    def rss(self) -> int:
        return sum(proc_rss(p.pid) for p in self.procs)


class Tally:
    """Counts deliveries across subscribers; `done` is set once the expected number arrived."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.target and self.count >= self.target:
            self.done.set()

    def expect(self, target: int) -> None:
        self.target = target
        if self.count >= target:
            self.done.set()


TALLY = Tally()


class Subscriber:
    """Several subscriptions over one WebSocket; records when each version arrives."""

    def __init__(self, url: str, token: str, task_ids: list[str]) -> None:
        self.url = url
        self.token = token
        self.task_ids = task_ids
        self.received: list[tuple[str, int, float]] = []
        self.ws: Any = None
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with websockets.connect(
            self.url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_size=2**22,
            open_timeout=60,
            ping_interval=None,
            compression=None,
        ) as ws:
            self.ws = ws
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": self.token}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for i, task_id in enumerate(self.task_ids):
                await ws.send(
                    json.dumps(
                        {
                            "id": str(i),
                            "type": "subscribe",
                            "payload": {"query": SUBSCRIPTION, "variables": {"t": task_id}},
                        }
                    )
                )
            self.ready.set()
            received = self.received
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "next":
                    task = message["payload"]["data"]["taskUpdated"]["task"]
                    received.append((task["id"], task["version"], now))
                    TALLY.add()


async def wait_for_subscribers(http: httpx.AsyncClient, url: str, token: str, want: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        response = await http.post(
            url,
            json={"query": "{ realtimeStats { subscriptions } }"},
            headers={"authorization": f"Bearer {token}"},
        )
        if response.json()["data"]["realtimeStats"]["subscriptions"] >= want:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("subscribers did not all register")


async def run_scenario(scenario: Scenario, kind: str = "tasklive") -> Result:
    global TALLY
    TALLY = Tally()
    settings = Settings(jwt_secret=SECRET, tasklive_env="test")
    owner = mint_token(settings, sub="bench-owner", name="Owner", ttl=_hours(6))
    viewer = mint_token(settings, sub="bench-viewer", name="Viewer", ttl=_hours(6))
    admin = mint_token(settings, sub="bench-admin", admin=True, ttl=_hours(6))
    result = Result(scenario=scenario)
    keep = bool(os.environ.get("BENCH_KEEP"))  # keep the servers' logs for a look afterwards
    with contextlib.ExitStack() as stack:
        tmp = (
            tempfile.mkdtemp(prefix="tasklive-bench-")
            if keep
            else stack.enter_context(tempfile.TemporaryDirectory(prefix="tasklive-bench-"))
        )
        servers = Servers(scenario, Path(tmp), kind=kind)
        servers.start(1 if kind == "baseline" else scenario.instances)
        try:
            await _measure(scenario, servers, result, owner=owner, viewer=viewer, admin=admin)
        finally:
            servers.stop()
    return result


async def _set_up_project(gql: Any, scenario: Scenario, *, owner: str, viewer: str) -> list[str]:
    await gql("{ me { id } }", {}, viewer)
    project = await gql('mutation { createProject(name: "bench") { id } }', {}, owner)
    project_id = project["createProject"]["id"]
    await gql(
        'mutation($p: ID!) { addProjectMember(projectId: $p, userId: "bench-viewer", '
        "role: VIEWER) { role } }",
        {"p": project_id},
        owner,
    )
    task_ids = []
    for i in range(scenario.tasks):
        data = await gql(
            "mutation($p: ID!, $t: String!) { createTask(input: "
            "{projectId: $p, title: $t}) { id } }",
            {"p": project_id, "t": f"task {i}"},
            owner,
        )
        task_ids.append(data["createTask"]["id"])
    return task_ids


def _hours(n: int) -> Any:
    from datetime import timedelta

    return timedelta(hours=n)


async def _measure(
    scenario: Scenario, servers: Servers, result: Result, *, owner: str, viewer: str, admin: str
) -> None:
    urls = [f"http://127.0.0.1:{p}/graphql" for p in servers.ports]
    limits = httpx.Limits(max_connections=max(10, scenario.concurrency * 2))
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def gql(query: str, variables: dict[str, Any], token: str, url: str = urls[0]) -> Any:
            response = await http.post(
                url,
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {token}"},
            )
            body = response.json()
            assert not body.get("errors"), body
            return body["data"]

        task_ids = [f"task-{i}" for i in range(scenario.tasks)]
        if servers.kind == "tasklive":
            task_ids = await _set_up_project(gql, scenario, owner=owner, viewer=viewer)

        rss_before = servers.rss()
        cpu_before = servers.cpu()
        # One WebSocket per subscriber, spread over tasks and instances.
        subscribers = [
            Subscriber(
                urls[i % len(urls)].replace("http", "ws"), viewer, [task_ids[i % scenario.tasks]]
            )
            for i in range(scenario.subscribers)
        ]
        runners = []
        for first in range(0, len(subscribers), 200):
            chunk = subscribers[first : first + 200]
            runners += [asyncio.create_task(s.run()) for s in chunk]
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in chunk)), 120)
        await wait_for_subscribers(http, urls[0], admin, scenario.subscribers)
        result.server_cpu_ms_per_subscriber = (
            (servers.cpu() - cpu_before) / scenario.subscribers * 1000
        )
        result.server_kib_per_idle_subscriber = (
            (servers.rss() - rss_before) / scenario.subscribers / 1024
        )

        per_task = {t: sum(1 for s in subscribers if s.task_ids[0] == t) for t in task_ids}
        sent: dict[tuple[str, int], float] = {}
        versions = dict.fromkeys(task_ids, 1)
        counter = 0

        async def mutate(task_id: str) -> None:
            nonlocal counter
            counter += 1
            version = versions[task_id] + 1
            versions[task_id] = version
            # Each version gets a status unlike the one before (a no-op change is no event).
            status = STATUSES[(version - 2) % 4]
            sent[(task_id, version)] = time.perf_counter()
            await gql(MUTATION, {"t": task_id, "s": status}, owner, urls[counter % len(urls)])

        expected = 0
        cpu0, client0, wall0 = servers.cpu(), time.process_time(), time.perf_counter()
        half = scenario.mutations // 2 if scenario.concurrency > 1 else scenario.mutations
        for i in range(half):  # one after the other
            task_id = task_ids[i % len(task_ids)]
            await mutate(task_id)
            expected += per_task[task_id]
        rest = scenario.mutations - half
        for start in range(0, rest, scenario.concurrency):  # then C at a time
            batch = [
                task_ids[(start + j) % len(task_ids)]
                for j in range(min(scenario.concurrency, rest - start))
            ]
            # Concurrent changes of one task would race for versions; one per task per batch.
            batch = list(dict.fromkeys(batch))
            await asyncio.gather(*(mutate(t) for t in batch))
            expected += sum(per_task[t] for t in batch)
        TALLY.expect(expected)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(TALLY.done.wait(), 120)
        wall = time.perf_counter() - wall0
        server_cpu = servers.cpu() - cpu0
        client_cpu = time.process_time() - client0
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    latencies, missing, duplicate, disorder, total = [], 0, 0, 0, 0
    for s in subscribers:
        seen = [v for t, v, _ in s.received]
        duplicate += len(seen) - len(set(seen))
        disorder += sum(1 for a, b in itertools.pairwise(seen) if b <= a)
        total += len(s.received)
        for task_id, version, at in s.received:
            latencies.append((at - sent[(task_id, version)]) * 1000)
        wanted = {v for (t, v) in sent if t == s.task_ids[0]}
        missing += len(wanted - set(seen))
    latencies.sort()
    result.deliveries, result.expected = total, expected
    result.missing, result.duplicate, result.out_of_order = missing, duplicate, disorder
    if latencies:
        result.p50_ms = statistics.median(latencies)
        result.p95_ms = latencies[int(len(latencies) * 0.95) - 1]
        result.p99_ms = latencies[int(len(latencies) * 0.99) - 1]
        result.max_ms = latencies[-1]
    result.deliveries_per_s = total / wall if wall else 0.0
    result.server_cpu_us_per_delivery = server_cpu / total * 1e6 if total else 0.0
    result.client_cpu_us_per_delivery = client_cpu / total * 1e6 if total else 0.0


SCENARIOS = [
    Scenario("1 task x 100", 100),
    Scenario("1 task x 1,000", 1000),
    Scenario("1 task x 5,000", 5000, mutations=20),
    Scenario("1 task x 10,000", 10000, mutations=10),
    Scenario("100 tasks x 1,000, C=200", 1000, tasks=100, mutations=400, concurrency=200),
    Scenario(
        "same, redis, 2 instances",
        1000,
        tasks=100,
        mutations=400,
        concurrency=200,
        broadcast="redis",
        instances=2,
    ),
]


def print_table(results: list[Result]) -> None:
    header = (
        f"{'scenario':<28} {'deliv':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'deliv/s':>9} {'srv us/d':>9} {'gen us/d':>9} {'KiB/sub':>8} "
        f"{'ms/sub':>7}  correctness"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ok = "ok" if not (r.missing or r.duplicate or r.out_of_order) else "FAIL"
        print(
            f"{r.scenario.name:<28} {r.deliveries:>7} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.deliveries_per_s:>9.0f} "
            f"{r.server_cpu_us_per_delivery:>9.1f} {r.client_cpu_us_per_delivery:>9.1f} "
            f"{r.server_kib_per_idle_subscriber:>8.1f} {r.server_cpu_ms_per_subscriber:>7.2f}  "
            f"{ok}: missing {r.missing}, duplicate {r.duplicate}, out of order {r.out_of_order}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--all", action="store_true", help="run every scenario")
    parser.add_argument("-n", "--subscribers", type=int)
    parser.add_argument("-k", "--tasks", type=int, default=1)
    parser.add_argument("-m", "--mutations", type=int, default=50)
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    parser.add_argument("--broadcast", choices=["memory", "redis"], default="memory")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="run each scenario this many times")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the uvicorn + Starlette baseline run of each scenario",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the tasklive server with py-spy into DIR (raw stacks)",
    )
    args = parser.parse_args()
    if args.profile:
        global PROFILE_DIR
        PROFILE_DIR = args.profile.resolve()
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.all:
        scenarios = SCENARIOS
    elif args.subscribers:
        scenarios = [
            Scenario(
                f"custom {args.subscribers}x{args.tasks}",
                args.subscribers,
                args.tasks,
                args.mutations,
                args.concurrency,
                args.broadcast,
                args.instances,
            )
        ]
    else:
        scenarios = [SCENARIOS[1]]
    results: list[Result] = []
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    baselines: list[Result] = []
    for scenario in scenarios:
        for _ in range(args.repeat):
            kinds = ["tasklive"]
            if not args.no_baseline and scenario.instances == 1:
                kinds.append("baseline")
            for kind in kinds:
                result = asyncio.run(run_scenario(scenario, kind))
                result.extra["server"] = kind
                (baselines if kind == "baseline" else results).append(result)
                with (out / "fanout.jsonl").open("a") as f:
                    record = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), **asdict(result)}
                    f.write(json.dumps(record) + "\n")
                print(f"[{kind}]")
                print_table([result])
    print("\ntasklive, medians over runs:")
    print_table(medians(results))
    if baselines:
        print("\nbaseline (uvicorn + Starlette, one prebuilt frame per subscriber), medians:")
        print_table(medians(baselines))
        print("\nratios tasklive / baseline (goal: CPU per delivery <= 0.8, p99 <= 1.0):")
        for ours, theirs in zip(medians(results), medians(baselines), strict=False):
            cpu = ratio(ours.server_cpu_us_per_delivery, theirs.server_cpu_us_per_delivery)
            p99 = ratio(ours.p99_ms, theirs.p99_ms)
            mem = ratio(ours.server_kib_per_idle_subscriber, theirs.server_kib_per_idle_subscriber)
            print(
                f"  {ours.scenario.name:<28} CPU/delivery {cpu}   p99 {p99}   "
                f"memory/idle subscriber {mem}"
            )


def ratio(ours: float, theirs: float) -> str:
    """`ours / theirs` as `1.23x`; n/a when the baseline measured nothing (too short a run)."""
    return f"{ours / theirs:5.2f}x" if theirs > 0 else "  n/a"


def medians(results: list[Result]) -> list[Result]:
    """One Result per scenario, each figure the median of that scenario's runs."""
    by_name: dict[str, list[Result]] = {}
    for result in results:
        by_name.setdefault(result.scenario.name, []).append(result)
    merged = []
    numeric = (
        [f for f, v in asdict(results[0]).items() if isinstance(v, int | float)] if results else []
    )
    for runs in by_name.values():
        median = Result(scenario=runs[0].scenario)
        for name in numeric:
            values = [getattr(r, name) for r in runs]
            value = statistics.median(values)
            setattr(median, name, type(values[0])(value))
        merged.append(median)
    return merged


if __name__ == "__main__":
    main()
