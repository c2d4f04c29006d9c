"""HTTP throughput: `task(id)` queries and `updateTaskStatus` mutations per second.

With 1,000 idle subscribers connected (subscribed to a task nobody changes), C concurrent
clients send requests for a few seconds; the script prints requests per second, latency
percentiles and the server's CPU per request, on SQLite and (when it answers) PostgreSQL.

    python bench/http_throughput.py                 # both databases, 1,000 idle subscribers
    python bench/http_throughput.py --database sqlite --idle 0 --seconds 5
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
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import (
    ROOT,
    SECRET,
    Scenario,
    Servers,
    Subscriber,
    wait_for_subscribers,
)

from graph.auth.tokens import mint_token
from graph.settings import Settings

QUERY = "query($t: ID!) { task(id: $t) { id title status version assignee { name } } }"
MUTATION = "mutation($t: ID!, $s: TaskStatus!) { updateTaskStatus(id: $t, status: $s) { version } }"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN), 5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def hammer(
    http: httpx.AsyncClient, url: str, token: str, body: Any, *, seconds: float, clients: int
) -> tuple[int, list[float]]:
    """`clients` loops sending `body(i)` for `seconds`; the count and latencies (ms)."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    headers = {"authorization": f"Bearer {token}"}

    async def client(n: int) -> None:
        i = n
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await http.post(url, json=body(i), headers=headers)
            data = response.json()
            assert not data.get("errors"), data
            latencies.append((time.perf_counter() - started) * 1000)
            i += clients

    await asyncio.gather(*(client(n) for n in range(clients)))
    return len(latencies), latencies


async def run(database: str, *, idle: int, seconds: float, clients: int) -> dict[str, Any]:
    settings = Settings(jwt_secret=SECRET, tasklive_env="test")
    owner = mint_token(settings, sub="tp-owner", name="Owner", ttl=timedelta(hours=2))
    admin = mint_token(settings, sub="tp-admin", admin=True, ttl=timedelta(hours=2))
    db_name = None
    with tempfile.TemporaryDirectory(prefix="tasklive-tp-") as tmp:
        servers = Servers(Scenario("throughput", idle), Path(tmp))
        if database == "postgres":
            db_name = f"tasklive_bench_{uuid.uuid4().hex[:8]}"
            await _pg(f'CREATE DATABASE "{db_name}"')
            servers.env["DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}"
            import subprocess

            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "graph.cli", "migrate"],
                env=servers.env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        servers.start(1)
        url = f"http://127.0.0.1:{servers.ports[0]}/graphql"
        runners: list[asyncio.Task[None]] = []
        try:
            async with httpx.AsyncClient(
                timeout=30, limits=httpx.Limits(max_connections=clients * 2)
            ) as http:

                async def gql(query: str, variables: dict[str, Any]) -> Any:
                    response = await http.post(
                        url,
                        json={"query": query, "variables": variables},
                        headers={"authorization": f"Bearer {owner}"},
                    )
                    body = response.json()
                    assert not body.get("errors"), body
                    return body["data"]

                project = await gql('mutation { createProject(name: "tp") { id } }', {})
                project_id = project["createProject"]["id"]
                create = (
                    "mutation($p: ID!, $t: String!) { createTask(input: "
                    '{projectId: $p, title: $t, assigneeId: "tp-owner"}) { id } }'
                )
                hot = (await gql(create, {"p": project_id, "t": "hot"}))["createTask"]["id"]
                quiet = (await gql(create, {"p": project_id, "t": "quiet"}))["createTask"]["id"]
                subscribers = [
                    Subscriber(url.replace("http", "ws"), owner, [quiet]) for _ in range(idle)
                ]
                for start in range(0, idle, 200):
                    chunk = subscribers[start : start + 200]
                    runners += [asyncio.create_task(s.run()) for s in chunk]
                    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in chunk)), 120)
                if idle:
                    await wait_for_subscribers(http, url, admin, idle)
                results: dict[str, Any] = {
                    "database": database,
                    "idle_subscribers": idle,
                    "clients": clients,
                }
                statuses = ["IN_PROGRESS", "COMPLETED", "PENDING", "CANCELLED"]
                for name, body in (
                    ("task(id) query", lambda i: {"query": QUERY, "variables": {"t": hot}}),
                    (
                        "updateTaskStatus",
                        lambda i: {
                            "query": MUTATION,
                            "variables": {"t": hot, "s": statuses[i % 4]},
                        },
                    ),
                ):
                    cpu0, gen0 = servers.cpu(), time.process_time()
                    wall0 = time.perf_counter()
                    count, latencies = await hammer(
                        http, url, owner, body, seconds=seconds, clients=clients
                    )
                    wall = time.perf_counter() - wall0
                    latencies.sort()
                    results[name] = {
                        "requests": count,
                        "per_second": round(count / wall, 1),
                        "p50_ms": round(statistics.median(latencies), 2),
                        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
                        "server_cpu_us_per_request": round((servers.cpu() - cpu0) / count * 1e6, 1),
                        "generator_cpu_us_per_request": round(
                            (time.process_time() - gen0) / count * 1e6, 1
                        ),
                    }
        finally:
            for runner in runners:
                runner.cancel()
            await asyncio.gather(*runners, return_exceptions=True)
            servers.stop()
            if db_name:
                with contextlib.suppress(Exception):
                    await _pg(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"{'database':<9} {'operation':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'srv us/req':>11} {'gen us/req':>11}"
    )
    for database in databases:
        try:
            result = asyncio.run(
                run(database, idle=args.idle, seconds=args.seconds, clients=args.clients)
            )
        except OSError as exc:
            print(f"{database}: skipped ({exc})")
            continue
        with (out / "http_throughput.jsonl").open("a") as f:
            f.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), **result}) + "\n")
        for name in ("task(id) query", "updateTaskStatus"):
            r = result[name]
            print(
                f"{database:<9} {name:<18} {r['per_second']:>8} {r['p50_ms']:>8} "
                f"{r['p99_ms']:>8} {r['server_cpu_us_per_request']:>11} "
                f"{r['generator_cpu_us_per_request']:>11}"
            )


if __name__ == "__main__":
    main()
