"""Admission of live connections, WebSockets and HTTP subscription streams alike: at most
MAX_CONNECTIONS_PER_IP from one client address and MAX_CONNECTIONS_PER_USER of one user, counted
together; none while the server shuts down."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from graph.auth.tokens import Principal
from graph.http.streams import HttpStream, StreamRefused
from graph.realtime.hub import RealtimeHub
from graph.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a connection is refused: the limit (as `/metrics` names it), its value, a message."""

    limit: str
    maximum: int
    message: str


class ConnectionLimits:
    """Counts open connections by client address (the hub counts them by user), and refuses
    one past either limit, counting the refusal in `/metrics`."""

    def __init__(self, settings: Settings, hub: RealtimeHub) -> None:
        self.per_address = settings.max_connections_per_ip
        self.per_user = settings.max_connections_per_user
        self.hub = hub
        self.by_address: Counter[str] = Counter()

    def address_refusal(self, address: str, *, kind: str) -> Refusal | None:
        if self.by_address[address] < self.per_address:
            return None
        self.hub.metrics.refusals["connections_per_ip"] += 1
        log.warning("%s refused: %s already holds %d", kind, address, self.per_address)
        return Refusal(
            "connections_per_ip",
            self.per_address,
            f"this address already holds {self.per_address} connections (MAX_CONNECTIONS_PER_IP)",
        )

    def user_refusal(self, user_id: str) -> Refusal | None:
        if self.hub.user_connections.get(user_id, 0) < self.per_user:
            return None
        self.hub.metrics.refusals["connections_per_user"] += 1
        return Refusal(
            "connections_per_user",
            self.per_user,
            f"more than {self.per_user} connections of this user (MAX_CONNECTIONS_PER_USER)",
        )

    def hold(self, address: str) -> None:
        self.by_address[address] += 1

    def release(self, address: str) -> None:
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]

    def admit_stream(
        self,
        scope: MutableMapping[str, Any],
        *,
        address: str,
        principal: Principal | None,
        protocol: str,
    ) -> None:
        """Count an SSE or multipart subscription as a connection from now until its response
        ends (`release_stream`), or refuse it: 429 past a limit, 503 while shutting down."""
        if self.hub.shutting_down:
            raise StreamRefused(503, "the server is shutting down: subscribe again elsewhere")
        refused = self.address_refusal(address, kind="HTTP stream")
        if refused is None and principal is not None:
            refused = self.user_refusal(principal.user_id)
        if refused is not None:
            raise StreamRefused(429, refused.message, limit=refused.limit, maximum=refused.maximum)
        user_id = principal.user_id if principal is not None else None
        stream = HttpStream(protocol=protocol, address=address, user_id=user_id)
        stream.attach(scope)
        self.hold(address)
        if stream.connection is not None and principal is not None:
            self.hub.connect(stream.connection, expires_at=principal.expires_at)

    async def release_stream(self, scope: MutableMapping[str, Any]) -> None:
        """The request is over: a stream it held leaves the counts, presence and stats."""
        stream = HttpStream.of(scope)
        if stream is None:
            return
        try:
            await stream.finish()
        finally:
            if stream.connection is not None:
                self.hub.disconnect(stream.connection)
            self.release(stream.address)
