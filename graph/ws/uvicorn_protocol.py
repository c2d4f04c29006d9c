"""uvicorn's sans-I/O WebSocket protocol, with the pongs it owes a peer that does not read
bounded.

uvicorn answers every ping frame with a pong written straight to the transport, below the
app and with no backpressure: a client that sent pings and never read grew the server by
hundreds of megabytes in seconds. Here a pong that would take the bytes the peer has not
read past SUBSCRIBER_BUFFER_BYTES closes the socket instead. (graphql-transport-ws `ping`
messages are answered by the app through ASGI `send`, which waits while the transport's
buffer is above its high-water mark, so uvicorn stops reading them: they are bounded.)

The close code is 1013 (try again later), as for a subscriber that fell too far behind:
graphql-ws clients retry after 1013 with their backoff and resume, whereas 1008 (policy
violation) is one of the codes they treat as fatal and never retry, which would strand a
legitimate client that only stalled. The close frame is queued behind what the peer has
not read, so the transport is aborted `ABORT_AFTER` seconds later: a peer that does not
read cannot keep the buffer alive.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from graph.settings import get_settings

log = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013
ABORT_AFTER = 2.0


class BoundedWebSocketsProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_unread_bytes = get_settings().subscriber_buffer_bytes

    def handle_ping(self) -> None:
        pongs = b"".join(self.conn.data_to_send())
        if self.close_sent or self.transport.is_closing():
            return  # closing: a pong now would only add to what the peer does not read
        if self.transport.get_write_buffer_size() + len(pongs) > self.max_unread_bytes:
            self.give_up(f"more than {self.max_unread_bytes} bytes unread")
            return
        self.transport.write(pongs)

    def give_up(self, reason: str) -> None:
        """Close with 1013 a peer that does not read, and drop its connection soon after."""
        if self.disconnected or self.transport.is_closing():
            return
        log.warning("closing WebSocket from %s with 1013: %s", self.client, reason)
        if not self.close_sent:
            self.queue.put_nowait(
                {"type": "websocket.disconnect", "code": CLOSE_TRY_AGAIN_LATER, "reason": reason}
            )
            self.conn.send_close(CLOSE_TRY_AGAIN_LATER, reason)
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
        # The app's next send fails as for a peer that went away (not as a protocol misuse).
        self.disconnected = True
        self.transport.pause_reading()
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(ABORT_AFTER, self.transport.abort)
