"""Waiting for a condition the server reaches asynchronously: polled, always bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 20.0,
    what: str = "the condition",
    interval: float = 0.05,
) -> T:
    """Poll an async predicate until it returns something truthy, within `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = await check()
                if value:
                    return value
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None
