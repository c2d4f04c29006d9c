"""The schema tier: `schema.execute` on a migrated SQLite file, the services built as the app
builds them, no server. Each test gets its own copy of one database migrated per session."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import strawberry

from db.migrate import upgrade
from db.session import Database
from graph.auth.tokens import Principal, TokenVerifier
from graph.context import Context, Services
from graph.realtime.hub import RealtimeHub
from graph.schema.root import build_schema
from graph.settings import Settings
from tests.support.factories import Team, make_team

SECRET = "schema-tier-secret-" + "s" * 32

Execute = Callable[..., Awaitable[strawberry.types.ExecutionResult]]


async def _migrate(path: Path) -> None:
    database = Database.from_url(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(database.engine)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the head revision, made once (alembic takes most of a second)."""
    path = tmp_path_factory.mktemp("schema-tier") / "migrated.db"
    asyncio.run(_migrate(path))
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_file: Path) -> Settings:
    path = tmp_path / "tasklive.db"
    shutil.copyfile(migrated_file, path)
    return Settings(
        database_url=f"sqlite+aiosqlite:///{path}", jwt_secret=SECRET, tasklive_env="test"
    )


@pytest.fixture(scope="session")
def schema() -> strawberry.Schema:
    return build_schema(Settings(jwt_secret=SECRET, tasklive_env="test"))


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The app's services with the live layer started on the in-memory broker."""
    db = Database.from_url(settings.database_url)
    made = Services(
        settings=settings,
        db=db,
        verifier=TokenVerifier(settings),
        realtime=RealtimeHub(settings, db),
    )
    await made.realtime.start()
    try:
        yield made
    finally:
        await made.realtime.stop()
        await db.dispose()


@pytest.fixture
async def team(services: Services) -> Team:
    return await make_team(services.db)


def principal(user_id: str, *, admin: bool = False) -> Principal:
    return Principal(user_id=user_id, name=None, email=None, is_admin=admin, expires_at=None)


@pytest.fixture
def execute(schema: strawberry.Schema, services: Services) -> Execute:
    """Runs a document as `as_user` (anonymous when None; an admin with `admin`), with a fresh
    context per call, as each HTTP request has."""

    async def run(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_user: str | None = None,
        admin: bool = False,
    ) -> strawberry.types.ExecutionResult:
        context = Context(
            services=services,
            request=None,
            response=None,
            request_id="schema-tier",
            principal=principal(as_user, admin=admin) if as_user is not None else None,
        )
        return await schema.execute(query, variable_values=variables, context_value=context)

    return run
