"""WebSocket text frames written straight to the transport: build once, send to many.

A server's frames are not masked, so the same bytes go to every subscriber whose message
is the same. Under uvicorn's sans-I/O WebSocket protocol, the ASGI `send` callable is a
method of the protocol object, which owns the transport; writing a complete frame there
skips an ASGI message, a task switch and a re-encode per subscriber.
"""

from __future__ import annotations

import struct
from typing import Any

TEXT_FIN = 0x81


def text_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((TEXT_FIN, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", TEXT_FIN, 126, size) + payload
    return struct.pack("!BBQ", TEXT_FIN, 127, size) + payload


class RawSocket:
    """Direct frame writes to one WebSocket, or None from `from_send` when unsafe."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any, transport: Any) -> None:
        self._protocol = protocol
        self._transport = transport

    @classmethod
    def from_send(cls, send: Any) -> RawSocket | None:
        protocol = getattr(send, "__self__", None)
        conn = getattr(protocol, "conn", None)
        transport = getattr(protocol, "transport", None)
        if conn is None or transport is None or not hasattr(protocol, "close_sent"):
            return None  # not uvicorn's sans-I/O protocol: use ASGI messages
        if getattr(conn, "extensions", None):
            return None  # a negotiated extension (compression) must see every frame
        return cls(protocol, transport)

    def write(self, frame: bytes) -> bool:
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected or self._transport.is_closing():
            return False
        self._transport.write(frame)
        return True

    @property
    def buffered(self) -> int:
        """Bytes written but not yet taken by the client: the backpressure signal."""
        return int(self._transport.get_write_buffer_size())
