"""Two server processes on one PostgreSQL database and a Redis of the test's own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require_postgres
from tests.support.proxy import TcpProxy
from tests.support.redis import RedisServer
from tests.support.servers import create_pg_database, drop_pg_database, make_server

GAP_CHECK_SECONDS = 1.0


class Cluster:
    """Instances `a` and `b`; with `proxied`, `a` reaches Redis through `proxy`, which a
    test can cut to take Redis away from `a` alone."""

    def __init__(
        self, tmp: Path, database_url: str, redis: RedisServer, *, proxied: bool = False
    ) -> None:
        env = {
            "PRESENCE_TTL_SECONDS": "3",
            "GAP_CHECK_INTERVAL_SECONDS": str(GAP_CHECK_SECONDS),
            "SHUTDOWN_GRACE_SECONDS": "5",
        }
        self.tmp = tmp
        self.database_url = database_url
        self.env = {"BROADCAST_URL": redis.url, **env}
        self.redis = redis
        self.proxy = TcpProxy(redis.port) if proxied else None
        a_broker = self.proxy.url if self.proxy is not None else redis.url
        self.a = make_server(tmp, database_url, **{**self.env, "BROADCAST_URL": a_broker})
        self.b = make_server(tmp, database_url, **self.env)


@contextmanager
def running_cluster(tmp: Path, *, proxied: bool = False) -> Iterator[Cluster]:
    """Both instances started on a fresh, migrated database; everything removed afterwards."""
    require_postgres()
    name, url = create_pg_database()
    redis = RedisServer(tmp)
    redis.start()
    cluster = Cluster(tmp, url, redis, proxied=proxied)
    try:
        if cluster.proxy is not None:
            cluster.proxy.start()
        subprocess.run(
            [sys.executable, "-m", "graph.cli", "migrate"],
            env=cluster.b.env,
            check=True,
            timeout=60,
            capture_output=True,
        )
        cluster.a.start()
        cluster.b.start()
        yield cluster
    finally:
        cluster.a.stop()
        cluster.b.stop()
        if cluster.proxy is not None:
            cluster.proxy.stop()
        redis.stop()
        drop_pg_database(name)
