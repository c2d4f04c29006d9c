"""The application factory: routes, middleware and the lifespan of shared services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from db.session import Database
from graph.auth.tokens import TokenVerifier
from graph.context import Services
from graph.execution import per_event_executor
from graph.http.middleware import AccessLogMiddleware, BodySizeLimitMiddleware
from graph.http.view import TaskliveGraphQL
from graph.http.web import web_routes
from graph.logs import configure_logging
from graph.ops import shutdown as graceful
from graph.ops.maintenance import prepare_database, run_pruner
from graph.realtime.cancellation import finish_within
from graph.realtime.hub import RealtimeHub
from graph.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Starlette:
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
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
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

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(db.ping(), timeout=3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["broker"] = "ok" if await services.realtime.ready() else "unreachable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, **checks}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return PlainTextResponse(
            services.realtime.metrics_text(), media_type="text/plain; version=0.0.4"
        )

    app = Starlette(
        routes=[
            Route("/graphql", graphql),  # every method: the view answers the others with 405
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *web_routes(settings),  # last: the board at `/` answers every other path
        ],
        middleware=[
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
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app
