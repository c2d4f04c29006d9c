"""The application factory: routes, middleware and the lifespan of shared services.

A FastAPI app. GraphQL is a plain ASGI route of its own (Strawberry's view, with its
WebSocket fast path), so FastAPI's request handling never sits on it; the operational
endpoints and REST routes beside it are FastAPI routes, described at `/docs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from importlib import metadata

from fastapi import FastAPI
from fastapi import HTTPException as RouteHTTPException
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from db.session import Database
from graph.auth.tokens import TokenVerifier
from graph.context import Services
from graph.execution import per_event_executor
from graph.http import export, ops_routes
from graph.http.middleware import AccessLogMiddleware, BodySizeLimitMiddleware
from graph.http.view import TaskliveGraphQL
from graph.http.web import WebBuild
from graph.logs import configure_logging
from graph.ops import shutdown as graceful
from graph.ops.maintenance import prepare_database, run_pruner
from graph.realtime.cancellation import finish_within
from graph.realtime.hub import RealtimeHub
from graph.settings import Settings, get_settings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "The operational and REST routes of tasklive. The API itself is GraphQL at `/graphql` "
    "(HTTP, WebSocket, SSE), described by its schema (`schema.graphql`), not here."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    db = Database.from_url(settings.database_url)
    services = Services(
        settings=settings,
        db=db,
        verifier=TokenVerifier(settings),
        realtime=RealtimeHub(settings, db),
    )
    graphql = TaskliveGraphQL(
        services,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allowed_origins=settings.cors_origin_list,
        connection_init_wait_timeout=timedelta(seconds=settings.connection_init_timeout_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.uses_dev_secret:
            log.warning(
                "using the built-in development JWT secret: anyone can mint tokens. "
                "Set JWT_SECRET before exposing this server; it is refused in production."
            )
        await prepare_database(settings, db)
        if not per_event_executor.install():
            log.warning("graphql-core has no per-event executor to patch; leak fix not applied")
        await services.realtime.start()
        graceful.install(services.realtime, grace=settings.shutdown_grace_seconds)
        pruner = asyncio.create_task(
            run_pruner(db, retention=timedelta(hours=settings.event_retention_hours))
        )
        log.info("tasklive ready (env=%s)", settings.tasklive_env)
        try:
            yield
        finally:
            pruner.cancel()
            # Bounded whatever the broker does: a Redis that went away mid-reconnect must
            # not keep the process from exiting.
            await finish_within(
                services.realtime.stop(),
                within=settings.shutdown_grace_seconds,
                what="stopping the live layer",
            )
            await db.dispose()

    app = FastAPI(
        title="tasklive",
        version=metadata.version("tasklive"),
        description=DESCRIPTION,
        # Off in production, like GraphiQL and introspection.
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url=None,
        # /metrics is the figures we promise; FastAPI's own OpenTelemetry would wrap every
        # request, GraphQL's and the WebSocket's too, whenever a global provider is set.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        exception_handlers={
            HTTPException: starlette_http_exception,
            RouteHTTPException: http_exception_handler,
        },
        middleware=middleware(settings, services),
        lifespan=lifespan,
    )
    app.state.services = services
    add_routes(app, settings, graphql)
    return app


def middleware(settings: Settings, services: Services) -> list[Middleware]:
    """Around every route, GraphQL's included, outermost first."""
    return [
        Middleware(AccessLogMiddleware, closes=services.realtime.metrics.closes),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "accept"],
            max_age=600,
        ),
        Middleware(
            BodySizeLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            refusals=services.realtime.metrics.refusals,
        ),
    ]


def add_routes(app: FastAPI, settings: Settings, graphql: TaskliveGraphQL) -> None:
    """GraphQL first, as plain ASGI routes (FastAPI's request handling never runs for it);
    then the FastAPI routers; the board last, as it answers every path."""
    app.router.routes.extend(
        [
            Route("/graphql", graphql),  # every method: the view answers the others with 405
            WebSocketRoute("/graphql", graphql),
        ]
    )
    app.include_router(ops_routes.router)
    if ops_routes.dev_tokens_enabled(settings):
        log.info("demo sign-in tokens at /dev/tokens (off when TASKLIVE_ENV=production)")
        app.include_router(ops_routes.dev_tokens_router)
    app.include_router(export.router)
    app.mount("/", WebBuild(settings.web_dist))


async def starlette_http_exception(_: Request, exc: Exception) -> Response:
    """What Starlette raises (the board's static files: 404, 405) keeps the plain-text reply
    it had before FastAPI; our routes raise FastAPI's HTTPException and answer JSON."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
