"""A TCP forwarder in a thread of its own, which a test can cut and restore.

Cut, it closes every forwarded connection and refuses new ones (accepts and closes them
at once), so the process behind it sees its peer vanish while the peer itself stays up:
one instance loses Redis while the others keep it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

from tests.support.servers import free_port

CHUNK = 65536


class TcpProxy:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False

    @property
    def url(self) -> str:
        """A redis:// URL through the proxy (the proxy forwards any TCP protocol)."""
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._close_all(stop_listening=True))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def cut(self) -> None:
        """Drop every forwarded connection and refuse new ones until `restore`."""
        self._call(self._set_cut(True))

    def restore(self) -> None:
        self._call(self._set_cut(False))

    def _call(self, coro: Coroutine[Any, Any, object]) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)

    async def _set_cut(self, cut: bool) -> None:
        self._cut = cut
        if cut:
            await self._close_all(stop_listening=False)

    async def _close_all(self, *, stop_listening: bool) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if stop_listening and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Let the aborted transports and their pipes finish before the loop stops.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if stop_listening and pending:
            await asyncio.wait(pending, timeout=5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
