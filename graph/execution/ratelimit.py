"""Mutation rate limits: a token bucket per user, and the field extension that applies it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info

from graph.errors import RateLimited

# Past this many remembered users, buckets that have refilled completely are dropped: a full
# bucket is what a user without one gets, so forgetting it changes nothing.
_PRUNE_AT = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class MutationRateLimiter:
    """Each user may run `burst` mutations at once, refilled at `per_second` a second."""

    def __init__(
        self,
        *,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def take(self, user_id: str) -> float:
        """Spends one of the user's mutations: 0, or the seconds to wait when none is left."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[user_id] = _Bucket(tokens=float(self.burst), updated=now)
        else:
            refill = (now - bucket.updated) * self.per_second
            bucket.tokens = min(float(self.burst), bucket.tokens + refill)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.per_second

    def _prune(self, now: float) -> None:
        full = [
            user
            for user, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.per_second >= self.burst
        ]
        for user in full:
            del self._buckets[user]


class RateLimitedMutation(FieldExtension):
    """Refuses a mutation field with RATE_LIMITED (and `retryAfter` seconds) once the
    signed-in user has spent their budget; anonymous calls go on to be refused as
    UNAUTHENTICATED by the resolver."""

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        services = info.context.services
        principal = info.context.principal
        if principal is not None:
            wait = services.rate_limiter.take(principal.user_id)
            if wait > 0:
                services.realtime.metrics.refusals["mutation_rate"] += 1
                raise RateLimited(
                    f"too many changes: at most {services.rate_limiter.per_second:g} a second "
                    f"(bursts of {services.rate_limiter.burst}) per user; retry later",
                    retry_after=wait,
                )
        return await next_(source, info, **kwargs)
