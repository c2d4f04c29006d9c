"""Broker backends, one module each, all behind broadcaster's `BroadcastBackend` interface.

A new backend is one module here and one line in `BACKENDS`; a scheme not listed is left to
broadcaster's own backends (redis-stream, postgres, kafka).
"""

from __future__ import annotations

from collections.abc import Callable

from broadcaster import Broadcast
from broadcaster._backends.base import BroadcastBackend

from graph.realtime.backends.memory import MemoryBackend
from graph.realtime.backends.redis import RedisPubSubBackend

BACKENDS: dict[str, Callable[[str], BroadcastBackend]] = {
    "memory": MemoryBackend,
    "redis": RedisPubSubBackend,  # ours: broadcaster 0.3.1's RedisBackend races at start-up
    "rediss": RedisPubSubBackend,
}


def broadcast_for(url: str) -> Broadcast:
    """broadcaster for the URL, on our backend for its scheme when we have one."""
    backend = BACKENDS.get(url.partition("://")[0])
    return Broadcast(backend=backend(url)) if backend else Broadcast(url)
