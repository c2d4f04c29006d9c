"""Start the real server (`tasklive serve`) in a subprocess on a free port, and databases for it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TEST_SECRET = "tasklive-test-secret-0123456789abcdef"
PG_ADMIN_DSN = os.environ.get("TASKLIVE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "graph.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    *self.extra_args,
                ],
                env=self.env,
                cwd=self.log_path.parent,  # a developer's .env must not change the test servers
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_healthy(timeout=timeout)

    def wait_healthy(self, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=5)

    def kill(self) -> None:
        self.stop(sig=signal.SIGKILL)


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLIVE_", "JWT_"))}
    env.update(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        TASKLIVE_ENV="test",
        BROADCAST_URL="memory://",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def make_server(
    tmp: Path, database_url: str, args: list[str] | None = None, /, **env: str
) -> ServerProcess:
    """A server process (not started); `args` go to the command line, `env` to its settings."""
    port = free_port()
    return ServerProcess(
        port=port,
        env=server_env(database_url, **env),
        log_path=tmp / f"server-{port}.log",
        extra_args=args or [],
    )


@contextmanager
def sqlite_server(tmp: Path, **env: str) -> Iterator[ServerProcess]:
    """A started server of its own on a fresh SQLite file in `tmp`, stopped afterwards."""
    proc = make_server(tmp, f"sqlite+aiosqlite:///{tmp / 'tasklive.db'}", **env)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


# PostgreSQL: one throwaway database per use, dropped afterwards.


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        asyncio.run(_pg("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_DSN} unreachable: {exc!r}"
    return None


def create_pg_database() -> tuple[str, str]:
    name = f"tasklive_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


def drop_pg_database(name: str) -> None:
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def pg_servers(tmp: Path, count: int, **env: str) -> Iterator[list[ServerProcess]]:
    """`count` started servers on one fresh, migrated PostgreSQL database, all stopped and
    the database dropped afterwards (the caller has checked that PostgreSQL is there)."""
    name, url = create_pg_database()
    procs = [make_server(tmp, url, **env) for _ in range(count)]
    try:
        migrate = [sys.executable, "-m", "graph.cli", "migrate"]
        subprocess.run(migrate, env=procs[0].env, check=True, timeout=60, capture_output=True)
        for proc in procs:
            proc.start()
        yield procs
    finally:
        for proc in procs:
            proc.stop()
        drop_pg_database(name)
