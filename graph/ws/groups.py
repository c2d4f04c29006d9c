"""Subscription groups: execute an event once for every subscriber with the same operation.

Subscribers of the same document and variables see the same result (every one of them was
allowed into the room), so a group executes each event once, serialises it once, and
writes one prebuilt frame per operation id to each member's socket. Members keep their
own fate: a member who loses access, falls behind or leaves ends alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLError
from graphql.execution import execute_subscription_event
from graphql.execution.executor import Executor

from graph.errors import INTERNAL_SERVER_ERROR, NotFound, SlowConsumer, TaskliveError
from graph.execution.encoding import dumps
from graph.logs import current_request_id
from graph.realtime.records import EventRecord
from graph.realtime.rooms import LiveSubscription
from graph.resolvers.live_fields import LiveField
from graph.ws.frames import RawSocket, text_frame

log = logging.getLogger(__name__)


class FastMember:
    """One subscription served by a group: its operation id, socket and catch-up state."""

    __slots__ = (
        "admin",
        "catching_up",
        "done",
        "last_seq",
        "limit_bytes",
        "limit_events",
        "on_slow",
        "operation",
        "pending",
        "prefix",
        "project_id",
        "room",
        "socket",
        "user_id",
    )

    def __init__(
        self,
        *,
        op_id: str,
        socket: RawSocket,
        user_id: str,
        admin: bool,
        project_id: str,
        room: str,
        operation: str,
        catching_up: bool,
        limit_bytes: int,
        limit_events: int,
        on_slow: Callable[[FastMember], None],
    ) -> None:
        self.prefix = b'{"id":' + dumps(op_id) + b',"type":"next","payload":'
        self.socket = socket
        self.user_id = user_id
        self.admin = admin
        self.project_id = project_id
        self.room = room
        self.operation = operation
        self.catching_up = catching_up
        self.pending: list[tuple[int, bytes]] = []
        self.last_seq = 0
        self.limit_bytes = limit_bytes
        self.limit_events = limit_events
        self.on_slow = on_slow
        self.done: asyncio.Future[TaskliveError | None] = asyncio.get_running_loop().create_future()

    def end(self, error: TaskliveError | None) -> None:
        if not self.done.done():
            self.done.set_result(error)

    def send(self, seq: int, frame: bytes) -> None:
        if self.done.done():
            return
        if not self.socket.write(frame):
            self.end(None)  # the socket is closing; the connection's cleanup ends the rest
            return
        self.last_seq = seq
        # Waiting bytes stand for waiting events: past either limit the client is too slow.
        buffered = self.socket.buffered
        if buffered > self.limit_bytes or buffered > self.limit_events * len(frame):
            self.end(SlowConsumer())
            self.on_slow(self)

    def hold(self, seq: int, payload: bytes) -> None:
        """Keep a live event while the member's replay runs (bounded like any queue)."""
        if len(self.pending) >= self.limit_events:
            self.end(SlowConsumer())
            self.on_slow(self)
            return
        self.pending.append((seq, payload))

    def frame(self, payload: bytes) -> bytes:
        return text_frame(self.prefix + payload + b"}")


def error_payload(errors: list[GraphQLError]) -> bytes:
    """`{"data": null, "errors": [...]}` with domain errors as they are, others masked."""
    formatted = []
    for error in errors:
        original = error.original_error
        if isinstance(original, TaskliveError) or original is None:
            formatted.append(error.formatted)
            continue
        request_id = current_request_id() or "-"
        log.error(
            "unexpected error in a subscription event (request %s)", request_id, exc_info=original
        )
        formatted.append(
            {
                "message": "Internal server error",
                "extensions": {"code": INTERNAL_SERVER_ERROR, "requestId": request_id},
            }
        )
    return dumps({"data": None, "errors": formatted})


class SubscriptionGroup:
    """Members sharing one operation; one queue in the room, one execution per event."""

    def __init__(
        self,
        *,
        key: tuple[str, str | None, bytes],
        executor: Executor[Any],
        field: LiveField[Any],
        refresh_context: Callable[[], None],
        on_empty: Callable[[SubscriptionGroup], None],
        metrics: Any,
    ) -> None:
        self.key = key
        self.executor = executor
        self.field = field
        self.refresh_context = refresh_context
        self.on_empty = on_empty
        self.metrics = metrics
        self.members: dict[FastMember, None] = {}
        self.task: asyncio.Task[None] | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A group stopped while starting fails `ready`; its first member may have gone (it was
        # cancelled), so nobody awaits it: mark the exception seen so that asyncio does not
        # log "Future exception was never retrieved".
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())

    def start(
        self, open_queue: Callable[[], contextlib.AbstractAsyncContextManager[LiveSubscription]]
    ) -> None:
        """Open the group's queue in the room; `ready` resolves once events flow to it."""
        self.task = asyncio.create_task(self._pump(open_queue, self.ready), name="tasklive-group")

    def add(self, member: FastMember) -> None:
        self.members[member] = None

    def remove(self, member: FastMember) -> None:
        self.members.pop(member, None)
        if not self.members:
            self.on_empty(self)
            if self.task is not None:
                self.task.cancel()

    async def render(self, record: EventRecord) -> tuple[bytes, TaskliveError | None] | None:
        """The event's payload bytes, or the error that ends the group's subscriptions, or
        None for an event the live field does not carry."""
        root = self.field.root(record)
        if root is None:
            return None
        if isinstance(root, TaskliveError):
            return b"", root
        self.refresh_context()
        result: Any = execute_subscription_event(self.executor.build_per_event_executor(root))
        if isinstance(result, Awaitable):
            result = await result
        if result.errors:
            return error_payload(list(result.errors)), None
        return dumps({"data": result.data}), None

    async def _pump(
        self,
        open_queue: Callable[[], contextlib.AbstractAsyncContextManager[LiveSubscription]],
        ready: asyncio.Future[None],
    ) -> None:
        try:
            async with open_queue() as queue:
                ready.set_result(None)
                while True:
                    record, _ = await queue.next()
                    rendered = await self.render(record)
                    if rendered is None:
                        continue
                    payload, ending = rendered
                    if ending is not None:
                        for member in list(self.members):
                            member.end(ending)
                        continue
                    self._fan_out(record.seq, payload)
                    self.metrics.delivery_latency.observe(
                        max(0.0, time.time() - record.occurred_at.timestamp())
                    )
        except asyncio.CancelledError:
            raise
        except TaskliveError as error:  # the group's queue overflowed: everyone is behind
            for member in list(self.members):
                member.end(error)
                member.on_slow(member)
        except Exception as exc:
            log.exception("subscription group failed")
            if not ready.done():
                ready.set_exception(exc)
            for member in list(self.members):
                member.end(NotFound("subscription ended by a server error"))
        finally:
            if not ready.done():
                ready.set_exception(RuntimeError("group stopped before it started"))

    def _fan_out(self, seq: int, payload: bytes) -> None:
        frames: dict[bytes, bytes] = {}
        sent = 0
        for member in list(self.members):
            if member.catching_up:
                member.hold(seq, payload)
                continue
            if seq <= member.last_seq:
                continue
            frame = frames.get(member.prefix)
            if frame is None:
                frame = frames[member.prefix] = member.frame(payload)
            member.send(seq, frame)
            sent += 1
        self.metrics.events_delivered += sent
