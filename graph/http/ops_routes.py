"""The operational endpoints: liveness, readiness, Prometheus metrics, demo sign-in tokens.

FastAPI routes with response models, so `/docs` describes them; each also answers HEAD, as
the Starlette routes before them did (load balancers probe with HEAD).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from db.models import ProjectRole
from graph.auth.tokens import mint_token
from graph.http.dependencies import DatabaseDep, RealtimeDep, SettingsDep
from graph.ops.demo import DEMO_USERS
from graph.settings import Settings

PROMETHEUS_TEXT = "text/plain; version=0.0.4"
DATABASE_PING_SECONDS = 3.0
DEV_TOKEN_TTL = timedelta(hours=12)

router = APIRouter(tags=["operations"])
dev_tokens_router = APIRouter(tags=["development"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    database: str = Field(description='"ok", or "unreachable: <error type>"')
    broker: str = Field(description='"ok" or "unreachable"')


class DevUser(BaseModel):
    id: str
    name: str
    role: ProjectRole = Field(description="the user's role in the demo project")
    token: str = Field(description="a JWT for this user, valid for 12 hours")


class DevTokens(BaseModel):
    users: list[DevUser]


@router.get("/healthz", summary="Liveness: the process answers")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database and the broker are reachable",
    responses={503: {"model": Readiness, "description": "the database or the broker is not"}},
)
@router.head("/readyz", include_in_schema=False)
async def readyz(response: Response, db: DatabaseDep, realtime: RealtimeDep) -> Readiness:
    try:
        await asyncio.wait_for(db.ping(), timeout=DATABASE_PING_SECONDS)
        database = "ok"
    except Exception as exc:
        database = f"unreachable: {type(exc).__name__}"
    broker = "ok" if await realtime.ready() else "unreachable"
    readiness = Readiness(ready=database == broker == "ok", database=database, broker=broker)
    if not readiness.ready:
        response.status_code = 503
    return readiness


@router.get(
    "/metrics",
    summary="The live layer's figures, in the Prometheus text format",
    response_class=PlainTextResponse,
    responses={200: {"content": {PROMETHEUS_TEXT: {}}}},
)
@router.head("/metrics", include_in_schema=False)
async def metrics(realtime: RealtimeDep) -> PlainTextResponse:
    return PlainTextResponse(realtime.metrics_text(), media_type=PROMETHEUS_TEXT)


def dev_tokens_enabled(settings: Settings) -> bool:
    """Demo sign-in mints tokens with the HS256 secret for anyone who asks: never in
    production, pointless when tokens are verified with a public key (the server would
    refuse its own tokens), and by default only with the development secret (or in tests),
    so that a server given a real secret but left in development mode mints none."""
    if settings.is_production or settings.uses_public_key:
        return False
    if settings.dev_tokens is not None:
        return settings.dev_tokens
    return settings.uses_dev_secret or settings.tasklive_env == "test"


@dev_tokens_router.get("/dev/tokens", summary="Tokens for the demo users (development only)")
@dev_tokens_router.head("/dev/tokens", include_in_schema=False)
async def dev_tokens(settings: SettingsDep, response: Response) -> DevTokens:
    response.headers["cache-control"] = "no-store"
    return DevTokens(
        users=[
            DevUser(
                id=user_id,
                name=name,
                role=role,
                token=mint_token(
                    settings,
                    sub=user_id,
                    name=name,
                    email=f"{user_id}@example.com",
                    ttl=DEV_TOKEN_TTL,
                ),
            )
            for user_id, name, role in DEMO_USERS
        ]
    )
