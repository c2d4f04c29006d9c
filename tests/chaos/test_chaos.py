"""The chaos run, small: every fault once, and still nothing lost, repeated or leaked.

The same machinery as `bench/chaos.py` (tests/support/chaos.py) with 20 subscribers and
300 changes, paced so that every fault lands while changes are still being written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_postgres
from tests.support.chaos import ChaosCluster, ChaosConfig, run_chaos
from tests.support.redis import redis_binary

SMALL = ChaosConfig(
    subscribers=20,
    changes=300,
    tasks=10,
    lanes=2,
    rate=40.0,  # about 7.5 s of writing: long enough for a server restart mid-stream
    drops=2,
    redis_restarts=1,
    server_kills=1,
    server_terms=1,
    timeout=90.0,
    catch_up_timeout=30.0,
)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ChaosCluster]:
    require_postgres()
    redis_binary()
    with ChaosCluster(tmp_path) as cluster:
        yield cluster


async def test_faults_lose_repeat_reorder_and_leak_nothing(cluster: ChaosCluster) -> None:
    report = await run_chaos(cluster, SMALL)
    figures = "\n".join(report.lines())
    assert report.committed == report.changes == SMALL.changes, figures
    assert report.faults["server SIGKILL + restart"] == 1, figures
    assert report.faults["server SIGTERM + restart"] == 1, figures
    assert report.faults["redis restarts"] == 1, figures
    assert report.faults["client connections dropped"] > 0, figures
    broken = (report.lost, report.duplicated, report.reordered, report.leaked)
    assert broken == (0, 0, 0, 0), figures
    assert report.delivered == report.expected, figures
    assert report.probes_refused == report.probes > 0, figures
    assert report.servers_ready, figures
    assert report.ok, figures
