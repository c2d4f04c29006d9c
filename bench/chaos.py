"""Faults, with nothing lost: the chaos run at full size, printing its figures.

Two `tasklive serve` processes share a throwaway PostgreSQL database (dropped afterwards)
and their own redis-server. Subscribers (graphql-transport-ws, `taskEvents` of every
project their user may see; one user sees only the first project) resume with their last
cursor whenever their connection drops. A writer makes title changes over HTTP,
alternating servers and retrying on the other one after a connection error, while the
script drops client connections, restarts Redis, kills the first server with SIGKILL and
starts it again, and stops the second with SIGTERM and starts it again. At the end every
subscriber must hold every event of its projects exactly once, in order.

    python bench/chaos.py                       # 200 subscribers, 5,000 changes, 50 tasks
    python bench/chaos.py --subscribers 50 --changes 1000 --seed 7

Exits 1 when anything was lost, duplicated, reordered or leaked (or a server did not
recover), 2 when PostgreSQL or redis-server is missing. The machinery is shared with
`tests/chaos/` and lives in `tests/support/chaos.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.chaos import ChaosCluster, ChaosConfig, run_chaos  # noqa: E402
from tests.support.chaos_clients import ChaosError  # noqa: E402
from tests.support.servers import postgres_available  # noqa: E402


def parse_args() -> ChaosConfig:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=defaults.subscribers)
    parser.add_argument("--changes", type=int, default=defaults.changes)
    parser.add_argument("--tasks", type=int, default=defaults.tasks)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--timeout", type=float, default=defaults.timeout, help="seconds for the whole run"
    )
    parser.add_argument("--rate", type=float, default=None, help="changes per second (no limit)")
    args = parser.parse_args()
    return ChaosConfig(
        subscribers=args.subscribers,
        changes=args.changes,
        tasks=args.tasks,
        seed=args.seed,
        timeout=args.timeout,
        rate=args.rate,
    )


def main() -> int:
    config = parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stdout
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    missing = postgres_available()
    if missing is None and shutil.which("redis-server") is None:
        missing = "redis-server is not on PATH"
    if missing is not None:
        print(f"chaos: cannot run: {missing}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="tasklive-chaos-"))
    print(
        f"chaos: {config.subscribers} subscribers, {config.changes} changes over "
        f"{config.tasks} tasks in {config.projects} projects, seed {config.seed}; "
        f"server logs in {workdir}"
    )
    try:
        with ChaosCluster(workdir) as cluster:
            report = asyncio.run(run_chaos(cluster, config))
    except (TimeoutError, ChaosError) as exc:
        reason = f"no result within --timeout {config.timeout:g} s" if not str(exc) else exc
        print(f"chaos: FAILED: {reason}; server logs kept in {workdir}", file=sys.stderr)
        return 1
    print()
    for line in report.lines():
        print(line)
    if report.ok:
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print(f"server logs kept in {workdir}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
