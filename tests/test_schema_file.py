"""`schema.graphql` is the SDL of the code and of the running server, byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from graphql import build_client_schema, get_introspection_query, print_schema

from graph.schema.root import build_schema
from tests.support.servers import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"
TASKLIVE = str(Path(sys.executable).with_name("tasklive"))


def test_schema_file_is_the_code_sdl() -> None:
    assert SCHEMA_FILE.read_text() == str(build_schema()) + "\n", (
        "schema.graphql is stale: run `tasklive export-schema`"
    )


async def test_running_server_introspects_to_the_code_sdl(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    response = await http.post(server.graphql_url, json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    served = print_schema(build_client_schema(body["data"]))
    assert served == print_schema(build_schema()._schema)


def _export_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TASKLIVE, "export-schema", "--check", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_export_schema_check(tmp_path: Path) -> None:
    done = _export_check()
    assert done.returncode == 0, done.stderr

    copy = tmp_path / "schema.graphql"
    copy.write_text(SCHEMA_FILE.read_text())
    assert _export_check("--output", str(copy)).returncode == 0

    copy.write_text(SCHEMA_FILE.read_text().replace("type Task {", "type Task {\n  extra: Int"))
    done = _export_check("--output", str(copy))
    assert done.returncode != 0
    assert "differs from the code" in done.stderr and "tasklive export-schema" in done.stderr
