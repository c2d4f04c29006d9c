"""The per-request (or per-connection) context handed to every resolver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.session import Database
from graph.auth.tokens import Principal, TokenVerifier
from graph.errors import TaskliveError, Unauthenticated
from graph.execution.ratelimit import MutationRateLimiter
from graph.resolvers.loaders import Loaders
from graph.settings import Settings

if TYPE_CHECKING:
    from graph.realtime.connections import LiveConnection
    from graph.realtime.hub import RealtimeHub
    from graph.ws.frames import RawSocket


@dataclass
class Services:
    """What lives as long as the app: settings, database, token verifier, live layer."""

    settings: Settings
    db: Database
    verifier: TokenVerifier
    realtime: RealtimeHub
    known_users: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    rate_limiter: MutationRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.rate_limiter = MutationRateLimiter(
            per_second=self.settings.mutation_rate_per_second,
            burst=self.settings.mutation_burst,
        )


class RequestDatabase:
    """The database as one request (or WebSocket) sees it: at most `sessions` reads at once.

    Resolvers run concurrently, so a document selecting many lists could otherwise check out
    a pooled connection for each and leave none for other users; past the bound, its reads
    wait for its own earlier ones. Writes are not bounded: a writer may read through the
    loaders while it holds its transaction, and one request makes few writes.
    """

    def __init__(self, db: Database, *, sessions: int) -> None:
        self._db = db
        self._sessions = asyncio.Semaphore(sessions)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions, self._db.read() as session:
            yield session

    def write(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._db.write()


class Context:
    connection_params: Any = None

    def __init__(
        self,
        *,
        services: Services,
        request: Any,
        response: Any,
        request_id: str,
        principal: Principal | None = None,
        auth_error: TaskliveError | None = None,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.db = RequestDatabase(services.db, sessions=services.settings.max_request_sessions)
        self.request = request
        self.response = response
        self.request_id = request_id
        self.auth_error = auth_error
        self.connection_params = None
        self.connection: LiveConnection | None = None
        self.raw_socket: RawSocket | None = None
        self.principal = principal
        self._loaders: Loaders | None = None

    def set_principal(self, principal: Principal | None) -> None:
        self.principal = principal
        self.renew_loaders()

    def renew_loaders(self) -> None:
        """Forget what the DataLoaders hold. A socket's context outlives its operations and
        a subscription's events: each operation and each event reads the database afresh."""
        self._loaders = None

    @property
    def loaders(self) -> Loaders:
        """DataLoaders for one request, operation or event, made on first use."""
        if self._loaders is None:
            self._loaders = Loaders(self.db.read)
        return self._loaders

    def require_user(self) -> Principal:
        if self.auth_error is not None:
            raise self.auth_error
        if self.principal is None:
            raise Unauthenticated("authentication required: send Authorization: Bearer <JWT>")
        return self.principal


Info = strawberry.Info[Context, None]
