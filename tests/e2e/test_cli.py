"""The command line: `tasklive token` and `tasklive demo`, checked against a real server."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

from tests.support.client import GraphQLClient
from tests.support.servers import TEST_SECRET, make_server, server_env

TASKLIVE = str(Path(sys.executable).with_name("tasklive"))


def tasklive(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TASKLIVE, *args],
        env=server_env(database_url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_is_signed_with_the_configured_secret(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    before = time.time()
    done = tasklive(
        "token", "--sub", "alice", "--name", "Alice", "--admin", "--ttl", "2h",
        database_url=url, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    raw = done.stdout.strip()
    assert "\n" not in raw  # only the token, for `TOKEN=$(tasklive token ...)`
    claims = jwt.decode(raw, TEST_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["name"], claims["role"]) == ("alice", "Alice", "admin")
    assert before - 5 <= claims["iat"] <= time.time() + 5
    assert abs(claims["exp"] - claims["iat"] - 2 * 3600) <= 1
    assert not (tmp_path / "unused.db").exists()  # minting a token touches no database


def test_a_bad_ttl_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    done = tasklive("token", "--sub", "alice", "--ttl", "two hours", database_url=url, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "bad ttl 'two hours'" in done.stderr and "1h" in done.stderr
    assert "Traceback" not in done.stderr


PROJECT = """
query Demo {
  projects {
    id name
    members { role user { id name } }
    tasks(first: 20) { totalCount edges { node { title status assignee { id } } } }
  }
}
"""


async def test_demo_creates_a_project_that_the_server_shows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    done = tasklive("demo", database_url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    tokens = {}
    for user in ("alice", "bob", "carol"):
        match = re.search(
            rf"^{user} \((OWNER|MEMBER|VIEWER)\):\n  (\S+)\n  GraphiQL headers: "
            rf'\{{"Authorization": "Bearer (\S+)"\}}$',
            done.stdout,
            re.MULTILINE,
        )
        assert match, done.stdout
        assert match.group(2) == match.group(3)
        claims = jwt.decode(match.group(2), TEST_SECRET, algorithms=["HS256"])
        assert claims["sub"] == user
        tokens[user] = match.group(2)
    assert "http://localhost:8000/graphql" in done.stdout

    server = make_server(tmp_path, url)
    server.start()
    try:
        async with httpx.AsyncClient(timeout=20) as http:
            gql = GraphQLClient(server.graphql_url, http)
            [project] = (await gql.data(PROJECT, token=tokens["bob"]))["projects"]
            carol_sees = await gql.data(PROJECT, token=tokens["carol"])
    finally:
        server.stop()
    assert project["name"] == "Demo project"
    assert project["id"] in done.stdout
    roles = {m["user"]["id"]: (m["role"], m["user"]["name"]) for m in project["members"]}
    assert roles == {
        "alice": ("OWNER", "Alice"),
        "bob": ("MEMBER", "Bob"),
        "carol": ("VIEWER", "Carol"),
    }
    tasks = project["tasks"]
    assert tasks["totalCount"] == len(tasks["edges"]) >= 3
    assert {e["node"]["status"] for e in tasks["edges"]} >= {"PENDING", "IN_PROGRESS"}
    assert carol_sees["projects"] == [project]
