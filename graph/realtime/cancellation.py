"""Stopping a background task without swallowing the caller's own cancellation.

`task.cancel(); with suppress(CancelledError): await task` has two faults: a cancellation
of the *caller* that arrives during the await is suppressed too (a shutdown that cancels
the caller then waits forever), and a task that swallows its own cancellation (cleanup
code that suppresses BaseException) is awaited forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_INTERVAL = 0.5


async def cancel_and_wait(task: asyncio.Task[Any] | None, *, within: float = 5.0) -> bool:
    """Cancel `task` and wait for it to end, cancelling again while it goes on, for at most
    `within` seconds; True when it ended. A cancellation of the caller propagates."""
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning(
                "task %s did not end %.1f s after its cancellation", task.get_name(), within
            )
            return False
        task.cancel()
        # asyncio.wait neither raises the task's exception nor absorbs our own cancellation.
        await asyncio.wait({task}, timeout=min(remaining, RECANCEL_INTERVAL))
    if not task.cancelled():
        task.exception()  # retrieved: its failure was the task's to log
    return True


async def finish_within(work: Coroutine[Any, Any, None], *, within: float, what: str) -> None:
    """Run `work` for at most `within` seconds, then cancel it (and say so) and go on."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=within)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not task.done():
        log.warning("%s did not finish within %.1f s: going on without it", what, within)
        await cancel_and_wait(task, within=RECANCEL_INTERVAL * 2)
        return
    task.result()
