"""The browser tests' needs: a current build of web/, Debian's Chromium driven by Playwright,
a seeded server that serves the build, and a directory for screenshots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import ServerProcess, in_ci, make_server, server_env

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
SOURCES = [
    WEB / "src",
    WEB / "index.html",
    WEB / "graphiql.html",
    WEB / "package.json",
    WEB / "package-lock.json",
    WEB / "vite.config.ts",
    WEB / "codegen.ts",
    WEB / "tsconfig.json",
    REPO / "schema.graphql",
]
CHROMIUM = "/usr/bin/chromium"
NPM_TIMEOUT = 600
TASKLIVE = str(Path(sys.executable).with_name("tasklive"))
# Where screenshots and measurements go: TASKLIVE_TEST_ARTIFACTS, else tests/artifacts/.
ARTIFACTS = (
    Path(os.environ.get("TASKLIVE_TEST_ARTIFACTS", REPO / "tests" / "artifacts")) / "browser"
)

_report: list[str] = []


def unavailable(reason: str) -> None:
    """A missing tool fails the run in CI and skips the test elsewhere."""
    if in_ci():
        pytest.fail(f"CI needs {reason}")
    pytest.skip(reason)


def _newest(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def _npm(*args: str) -> None:
    done = subprocess.run(
        ["npm", *args], cwd=WEB, capture_output=True, text=True, timeout=NPM_TIMEOUT
    )
    if done.returncode != 0:
        pytest.fail(f"npm {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, built first when it is missing or older than the web sources."""
    dist = WEB / "dist"
    index = dist / "index.html"
    # The build rewrites src/gql/ before it writes dist/, so a fresh build is newer than it.
    if index.is_file() and index.stat().st_mtime >= _newest(SOURCES):
        return dist
    if shutil.which("npm") is None:
        unavailable("npm (Node 20) to build web/")
    installed = WEB / "node_modules" / ".package-lock.json"
    if (
        not installed.is_file()
        or installed.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime
    ):
        _npm("ci", "--no-audit", "--no-fund")
    _npm("run", "build")
    return dist


# Module scope: Playwright's sync API runs an event loop in this thread while it is open,
# which the asyncio tests of later modules could not start theirs beside.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def board_server(tmp_path: Path, web_dist: Path) -> Iterator[ServerProcess]:
    """A server on a free port over a database that `tasklive demo` seeded, serving the build."""
    url = f"sqlite+aiosqlite:///{tmp_path}/board.db"
    seeded = subprocess.run(
        [TASKLIVE, "demo"],
        env=server_env(url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert seeded.returncode == 0, seeded.stderr
    server = make_server(tmp_path, url, WEB_DIST=str(web_dist))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def record(artifacts: Path, name: str, value: object) -> None:
    """Keep a measurement next to the screenshots, and list it at the end of the run."""
    (artifacts / f"{name}.json").write_text(json.dumps(value, indent=2) + "\n")
    _report.append(f"{name}: {json.dumps(value)}")


def screenshot(page: Any, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path))
    _report.append(f"screenshot: {path}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _report:
        terminalreporter.section("browser artifacts")
        for line in _report:
            terminalreporter.write_line(line)
