"""Alembic, driven from code: upgrade to head, and tell whether a database is behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _state(connection: Connection, config: Config) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(config).get_current_head()
    return SchemaState(current=current, head=head)


async def upgrade(engine: AsyncEngine) -> None:
    config = alembic_config()
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, config)


async def schema_state(engine: AsyncEngine) -> SchemaState:
    config = alembic_config()
    async with engine.connect() as conn:
        return await conn.run_sync(_state, config)
