"""The web board and GraphiQL from the web build (`web/dist`), and the demo sign-in endpoint."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from graph.auth.tokens import mint_token
from graph.ops.demo import DEMO_USERS
from graph.settings import Settings

log = logging.getLogger(__name__)

DEV_TOKEN_TTL = timedelta(hours=12)
# Vite names every file under assets/ by its content hash: a new build never reuses a name.
IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"
NOT_BUILT = (
    "The web board is not built. Build it with `npm --prefix web ci && npm --prefix web run "
    "build` (Node 20), or set WEB_DIST to a build; GraphQL is at /graphql.\n"
)


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


def graphiql_page(settings: Settings) -> str | None:
    """GraphiQL from the web build (its assets served from /assets), or None without a build."""
    page = settings.web_dist / "graphiql.html"
    return page.read_text() if page.is_file() else None


class WebBuild:
    """Serves the built board; without a build, `/` says how to make one."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        # check_dir=False: the build may appear (or be rebuilt) while the server runs.
        self.files = StaticFiles(directory=dist, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await WebSocketClose()(scope, receive, send)
            return
        if not (self.dist / "index.html").is_file():
            path = scope["path"]
            text = NOT_BUILT if path in ("/", "/index.html") else "Not Found"
            await PlainTextResponse(text, status_code=404)(scope, receive, send)
            return
        cache = IMMUTABLE if scope["path"].startswith("/assets/") else NO_CACHE

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                message = {**message, "headers": [*message["headers"], (b"cache-control", cache)]}
            await send(message)

        await self.files(scope, receive, send_with_cache)


def dev_tokens_endpoint(settings: Settings) -> Route:
    async def dev_tokens(_: Request) -> Response:
        users = [
            {
                "id": user_id,
                "name": name,
                "role": role.value,
                "token": mint_token(
                    settings,
                    sub=user_id,
                    name=name,
                    email=f"{user_id}@example.com",
                    ttl=DEV_TOKEN_TTL,
                ),
            }
            for user_id, name, role in DEMO_USERS
        ]
        return JSONResponse({"users": users}, headers={"cache-control": "no-store"})

    return Route("/dev/tokens", dev_tokens, methods=["GET"])


def web_routes(settings: Settings) -> list[BaseRoute]:
    """The routes of this module; they go last, as `/` answers every path not routed before."""
    routes: list[BaseRoute] = []
    if dev_tokens_enabled(settings):
        log.info("demo sign-in tokens at /dev/tokens (off when TASKLIVE_ENV=production)")
        routes.append(dev_tokens_endpoint(settings))
    routes.append(Mount("/", app=WebBuild(settings.web_dist)))
    return routes
