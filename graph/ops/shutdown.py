"""Graceful shutdown: close WebSockets with 1001 before uvicorn closes them with 1012.

uvicorn handles SIGTERM/SIGINT itself and, on shutdown, fails every open WebSocket with
1012. Clients should see 1001 (going away: reconnect elsewhere and resume), so our handler
runs first: it closes the sockets through the live layer, then hands the signal on to
uvicorn's handler, which stops accepting, finishes in-flight requests and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from types import FrameType

from graph.realtime.hub import CLOSE_GOING_AWAY, RealtimeHub

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(hub: RealtimeHub, *, grace: float) -> None:
    """Chain our handler in front of the current (uvicorn's) SIGTERM/SIGINT handlers."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals only reach the main thread; an embedded server shuts down itself
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}

    async def close_then_continue(sig: int) -> None:
        hub.shutting_down = True
        try:
            await asyncio.wait_for(hub.close_all(CLOSE_GOING_AWAY, "server shutting down"), grace)
        except Exception:
            log.exception("closing WebSockets on shutdown failed")
        finally:
            handler = previous.get(signal.Signals(sig))
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(sig)

    def on_signal(sig: int, _: FrameType | None) -> None:
        if hub.shutting_down:  # a second signal: let uvicorn act at once
            handler = previous.get(signal.Signals(sig))
            if callable(handler):
                handler(sig, None)
            return
        loop.call_soon_threadsafe(lambda: hub.spawn(close_then_continue(sig)))

    for sig in SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, on_signal)
