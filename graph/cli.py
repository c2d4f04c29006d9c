"""`tasklive serve | migrate | token | demo | export-schema`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from db.migrate import schema_state, upgrade
from db.session import Database
from graph.auth.tokens import mint_token, parse_ttl
from graph.errors import SchemaBehind
from graph.ops.demo import create_demo
from graph.ops.maintenance import prepare_database
from graph.schema.root import build_schema
from graph.settings import Settings, get_settings
from graph.ws.uvicorn_protocol import BoundedWebSocketsProtocol

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
T = TypeVar("T")


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        sys.exit(f"tasklive: configuration refused: {reasons}")


def _run_on_database(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run `work`; a database that cannot be used exits with one line, not a traceback."""
    try:
        return asyncio.run(work)
    except SchemaBehind as exc:
        sys.exit(f"tasklive: {exc}")
    except (OSError, SQLAlchemyError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        sys.exit(f"tasklive: cannot use the database {url}: {reason or type(reason).__name__}")


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings_or_exit()
    if args.workers > 1 and settings.broadcast_url.startswith("memory://"):
        sys.exit(
            "tasklive: --workers > 1 needs a shared broadcaster: with memory:// events would not "
            "cross processes. Set BROADCAST_URL=redis://host:6379/0 (see README, Live updates)."
        )

    async def check() -> None:
        db = Database.from_url(settings.database_url)
        try:
            await prepare_database(settings, db)
        finally:
            await db.dispose()

    _run_on_database(settings, check())
    uvicorn.run(
        "graph.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        ws=BoundedWebSocketsProtocol,  # what a peer that does not read can cost is bounded
        ws_per_message_deflate=False,
        ws_max_size=settings.ws_max_message_bytes,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        # Trust X-Forwarded-For (the client address for MAX_CONNECTIONS_PER_IP and the logs)
        # only from the proxies the operator names.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def cmd_migrate(_: argparse.Namespace) -> None:
    settings = _settings_or_exit()

    async def run() -> None:
        db = Database.from_url(settings.database_url)
        try:
            before = await schema_state(db.engine)
            await upgrade(db.engine)
            after = await schema_state(db.engine)
        finally:
            await db.dispose()
        print(f"schema: {before.current or 'empty'} -> {after.current} (head {after.head})")

    _run_on_database(settings, run())


def cmd_token(args: argparse.Namespace) -> None:
    settings = _settings_or_exit()
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as exc:
        sys.exit(f"tasklive: {exc}")
    print(
        mint_token(
            settings, sub=args.sub, name=args.name, email=args.email, admin=args.admin, ttl=ttl
        )
    )


def cmd_demo(args: argparse.Namespace) -> None:
    settings = _settings_or_exit()
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as exc:
        sys.exit(f"tasklive: {exc}")
    demo = _run_on_database(settings, create_demo(settings, ttl=ttl))
    print(f"Demo project {demo.project_name!r}: id {demo.project_id}\n")
    for user, role, token in demo.users:
        print(f"{user} ({role}):\n  {token}")
        print(f"  GraphiQL headers: {json.dumps({'Authorization': f'Bearer {token}'})}\n")
    print("Open http://localhost:8000/graphql and paste one of the headers above.")


def cmd_export_schema(args: argparse.Namespace) -> None:
    sdl = str(build_schema()) + "\n"
    target = Path(args.output) if args.output else SCHEMA_FILE
    if args.check:
        current = target.read_text() if target.exists() else ""
        if current != sdl:
            sys.exit(f"tasklive: {target} differs from the code; run `tasklive export-schema`")
        print(f"{target} matches the code")
        return
    target.write_text(sdl)
    print(f"wrote {target}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tasklive", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="print a JWT signed with the configured secret")
    token.add_argument("--sub", required=True)
    token.add_argument("--name")
    token.add_argument("--email")
    token.add_argument("--admin", action="store_true")
    token.add_argument("--ttl", default="1h")
    token.set_defaults(func=cmd_token)

    demo = sub.add_parser("demo", help="create a demo project and print its users' tokens")
    demo.add_argument("--ttl", default="12h")
    demo.set_defaults(func=cmd_demo)

    export = sub.add_parser("export-schema", help="write schema.graphql")
    export.add_argument("--check", action="store_true", help="fail when the file differs")
    export.add_argument("--output", help=argparse.SUPPRESS)
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
