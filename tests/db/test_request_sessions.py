"""One request's reads hold at most MAX_REQUEST_SESSIONS pooled connections at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from db.session import Database
from graph.context import RequestDatabase


async def test_one_request_holds_at_most_its_sessions(db: Database) -> None:
    request = RequestDatabase(db, sessions=2)
    inside = most = 0
    two_inside = asyncio.Event()
    release = asyncio.Event()

    async def read() -> None:
        nonlocal inside, most
        async with request.read() as session:
            await session.execute(text("SELECT 1"))
            inside += 1
            most = max(most, inside)
            if inside == 2:
                two_inside.set()
            await release.wait()
            inside -= 1

    readers = [asyncio.ensure_future(read()) for _ in range(10)]
    await asyncio.wait_for(two_inside.wait(), 10)
    # A negative check: the other eight had this time to check out a connection, and
    # without the bound they would have (each takes a few milliseconds).
    await asyncio.sleep(0.3)
    assert inside == 2
    release.set()
    await asyncio.wait_for(asyncio.gather(*readers), 10)
    assert most == 2
    # Another request has sessions of its own.
    async with RequestDatabase(db, sessions=2).read() as session:
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
