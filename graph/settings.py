"""Configuration: one Settings object, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "tasklive-development-secret-change-me"
# The web board and GraphiQL, as `npm run build` in web/ writes them.
REPO_WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///./tasklive.db"
    broadcast_url: str = "memory://"
    tasklive_env: Literal["development", "production", "test"] = "development"
    cors_origins: str = "http://localhost:3000,http://localhost:5173"

    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = 0
    jwt_max_length: int = 8192
    # A token without `exp` would never expire; refuse it unless the issuer cannot set one.
    jwt_require_exp: bool = True

    log_level: str = "INFO"
    log_json: bool = False

    graphiql: bool | None = None
    introspection: bool | None = None
    # The OpenAPI description and its Swagger UI (`/openapi.json`, `/docs`): off in production.
    docs: bool | None = None
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    # The number of values an answer may hold: each field counts 1, times the page sizes
    # (`first`, or DEFAULT_PAGE_SIZE) and list sizes above it (see graph/execution/query_limits.py).
    max_query_cost: int = 20_000
    document_cache_size: int = 256
    max_page_size: int = 100
    default_page_size: int = 20
    # How many database sessions one request (or WebSocket) may hold at once.
    max_request_sessions: int = 2
    max_bulk_ids: int = 100

    event_retention_hours: float = 24.0
    # Live layer (used from the realtime package).
    subscriber_queue_limit: int = 1000
    subscriber_buffer_bytes: int = 1024 * 1024
    fast_path: bool = True
    connection_init_timeout_seconds: float = 10.0
    max_subscriptions_per_connection: int = 100
    max_connections_per_user: int = 100
    max_connections_per_ip: int = 1000
    mutation_rate_per_second: float = 20.0
    mutation_burst: int = 100
    max_body_bytes: int = 1024 * 1024
    forwarded_allow_ips: str | None = None
    dev_tokens: bool | None = None
    ws_ping_interval_seconds: float = 20.0
    ws_ping_timeout_seconds: float = 20.0
    ws_max_message_bytes: int = 64 * 1024
    shutdown_grace_seconds: float = 10.0
    presence_ttl_seconds: float = 15.0
    gap_check_interval_seconds: float = 2.0
    log_sql: bool = Field(default=False)
    web_dist: Path = REPO_WEB_DIST

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.is_production and self.jwt_secret == DEV_JWT_SECRET and not self.uses_public_key:
            raise ValueError(
                "TASKLIVE_ENV=production with the built-in development JWT secret: "
                "set JWT_SECRET (or JWT_PUBLIC_KEY / JWT_JWKS_URL) to your own value"
            )
        return self

    @model_validator(mode="after")
    def _queue_holds_a_bulk_change(self) -> Settings:
        if self.subscriber_queue_limit < self.max_bulk_ids:
            raise ValueError(
                f"SUBSCRIBER_QUEUE_LIMIT ({self.subscriber_queue_limit}) must be at least "
                f"MAX_BULK_IDS ({self.max_bulk_ids}): one bulk change would otherwise cut off "
                "subscribers that are keeping up"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.tasklive_env == "production"

    @property
    def uses_dev_secret(self) -> bool:
        return self.jwt_secret == DEV_JWT_SECRET and not self.uses_public_key

    @property
    def uses_public_key(self) -> bool:
        return bool(self.jwt_public_key or self.jwt_jwks_url)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection

    @property
    def docs_enabled(self) -> bool:
        return (not self.is_production) if self.docs is None else self.docs

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import time)."""
    return Settings()
