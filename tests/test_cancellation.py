"""Stopping background tasks: bounded, and never swallowing the caller's cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from graph.realtime.cancellation import cancel_and_wait, finish_within


class Stubborn:
    """A task whose cleanup code suppresses BaseException, as the Redis bus's did; it ends
    only when released."""

    def __init__(self) -> None:
        self.released = False
        self.running = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    @classmethod
    async def start(cls) -> Stubborn:
        stubborn = cls()
        await stubborn.running.wait()
        return stubborn

    async def _run(self) -> None:
        self.running.set()
        while not self.released:
            with contextlib.suppress(BaseException):
                await asyncio.sleep(0.05)

    async def release(self) -> None:
        self.released = True
        await self.task


async def test_a_task_that_swallows_its_cancellation_is_given_up_on_in_time() -> None:
    stubborn = await Stubborn.start()
    async with asyncio.timeout(2):
        assert await cancel_and_wait(stubborn.task, within=0.3) is False
    await stubborn.release()


async def test_the_callers_cancellation_is_not_swallowed() -> None:
    stubborn = await Stubborn.start()
    stopper = asyncio.create_task(cancel_and_wait(stubborn.task, within=60))
    await asyncio.sleep(0.01)  # it is waiting for the stubborn task now
    stopper.cancel()
    async with asyncio.timeout(2):
        with pytest.raises(asyncio.CancelledError):
            await stopper
    await stubborn.release()


async def test_a_task_that_ends_on_cancellation_is_waited_for() -> None:
    ended = asyncio.Event()

    async def polite() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.set()

    task = asyncio.create_task(polite())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task) is True
    assert ended.is_set() and task.cancelled()


async def test_work_that_overruns_is_cancelled_and_left_behind() -> None:
    async with asyncio.timeout(2):
        await finish_within(asyncio.sleep(3600), within=0.1, what="sleeping")
    with pytest.raises(ValueError, match="boom"):
        await finish_within(_fails(), within=1, what="failing")


async def _fails() -> None:
    raise ValueError("boom")
