"""The web board and GraphiQL from the web build (`web/dist`)."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from graph.settings import Settings

log = logging.getLogger(__name__)

# Vite names every file under assets/ by its content hash: a new build never reuses a name.
IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"
NOT_BUILT = (
    "The web board is not built. Build it with `npm --prefix web ci && npm --prefix web run "
    "build` (Node 20), or set WEB_DIST to a build; GraphQL is at /graphql.\n"
)


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
