"""The fast path for live subscriptions over graphql-transport-ws.

A `subscribe` for one of the live fields (declared in graph/resolvers/live_fields.py) on a
socket whose frames can be written directly joins a `SubscriptionGroup` of the same
document and variables instead of running its own per-event execution. Anything else
(other fields, invalid documents, the legacy protocol, HTTP streams) takes Strawberry's
ordinary path, which also reports every error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSchema, located_error
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values, get_variable_values

from graph.auth.tokens import Principal
from graph.context import Context, Services
from graph.errors import TaskliveError
from graph.execution.encoding import dumps
from graph.execution.extensions import classify_error
from graph.realtime.records import EventRecord
from graph.realtime.rooms import LiveSubscription
from graph.resolvers.subscriptions import LiveTarget, authorise, locate, replay
from graph.ws.groups import FastMember, SubscriptionGroup, error_payload
from graph.ws.plans import Plan, Planner

log = logging.getLogger(__name__)

# The group's own context: every member was allowed into the room, and nothing below a
# live field leaves the room's project, so the group resolves fields as a reader of it.
GROUP_PRINCIPAL = Principal(
    user_id="tasklive:group", name=None, email=None, is_admin=True, expires_at=None
)
GROUP_QUEUE_FACTOR = 10


class FastPath:
    def __init__(self, services: Services, schema: GraphQLSchema, *, cache_size: int = 256) -> None:
        self.services = services
        self.schema = schema  # the graphql-core schema under Strawberry's
        self.settings = services.settings
        self.planner = Planner(schema, services.settings, cache_size=cache_size)
        self._groups: dict[tuple[str, str | None, bytes], SubscriptionGroup] = {}
        self._starting: dict[tuple[str, str | None, bytes], asyncio.Future[None]] = {}

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        return self.planner.plan(query, operation_name)

    # -- serving one subscription

    async def serve(
        self,
        context: Context,
        op_id: str,
        plan: Plan,
        variables: dict[str, Any] | None,
        send_message: Any,
    ) -> None:
        """Run one subscription to its end (or until its task is cancelled)."""
        args = self._arguments(plan, variables)
        if isinstance(args, list):
            await _refuse(send_message, op_id, args)
            return
        try:
            located = await locate(
                context, plan.live, args[plan.live.room.argument], args.get("after")
            )
        except TaskliveError as error:
            await self._finish(send_message, op_id, [_as_graphql_error(error)])
            return
        principal = context.require_user()
        connection = context.connection
        socket = context.raw_socket
        assert connection is not None and socket is not None
        hub = self.services.realtime
        member = FastMember(
            op_id=op_id,
            socket=socket,
            user_id=principal.user_id,
            admin=principal.is_admin,
            project_id=located.project_id,
            room=located.room,
            operation=plan.live.name,
            catching_up=located.after is not None,
            limit_bytes=self.settings.subscriber_buffer_bytes,
            limit_events=self.settings.subscriber_queue_limit,
            on_slow=lambda _: hub.close_slow(connection),
        )
        # Guarded before it is authorised, so that no removal falls between the two.
        async with hub.guarded(member):
            try:
                target = await authorise(context, located)
            except TaskliveError as error:
                member.end(error)
            else:
                await self._serve_member(context, plan, variables, target, member)
        outcome = member.done.result() if member.done.done() else None
        if outcome is not None:
            await self._finish(send_message, op_id, [_as_graphql_error(outcome)])

    async def _serve_member(
        self,
        context: Context,
        plan: Plan,
        variables: dict[str, Any] | None,
        target: LiveTarget,
        member: FastMember,
    ) -> None:
        """Join the member's group and stay until the member ends."""
        shared = {k: v for k, v in (variables or {}).items() if k not in plan.resume_variables}
        key = (
            plan.document.loc.source.body if plan.document.loc else "",
            plan.operation.name.value if plan.operation.name else None,
            dumps(shared, sort_keys=True),
        )
        # Everything up to the cursor is the client's already, even what this instance has
        # not yet heard of (and delivers later): only later events go out.
        member.last_seq = target.after_seq or 0
        group = await self._join(key, plan, shared, target, member)
        hub = self.services.realtime
        try:
            with hub.viewing(member):
                if target.after_seq is not None:
                    await self._catch_up(group, member, replay(context, target), target)
                await member.done
        finally:
            group.remove(member)

    def _arguments(
        self, plan: Plan, variables: dict[str, Any] | None
    ) -> dict[str, Any] | list[GraphQLError]:
        """The live field's arguments, or the errors Strawberry's path reports for them."""
        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or [], variables or {}
        )
        if isinstance(coerced, list):
            return [classify_error(error, plan.document) for error in coerced]
        try:
            return get_argument_values(plan.field_def, plan.field_node, coerced)
        except GraphQLError as error:
            # An explicit null (in a variable with a default) for a non-null argument.
            key = (plan.field_node.alias or plan.field_node.name).value
            return [classify_error(located_error(error, [plan.field_node], [key]), plan.document)]

    async def _catch_up(
        self,
        group: SubscriptionGroup,
        member: FastMember,
        records: AsyncIterator[EventRecord],
        target: LiveTarget,
    ) -> None:
        """Replay the log after the cursor to this member, then release what came live."""
        async for record in records:
            if member.done.done():
                return
            rendered = await group.render(record) if target.wants(record) else None
            if rendered is None:
                member.last_seq = record.seq
                continue
            payload, ending = rendered
            if ending is not None:
                member.end(ending)
                return
            member.send(record.seq, member.frame(payload))
        for seq, payload in member.pending:
            if seq > member.last_seq:
                member.send(seq, member.frame(payload))
        member.pending.clear()
        member.catching_up = False

    async def _join(
        self,
        key: tuple[str, str | None, bytes],
        plan: Plan,
        variables: dict[str, Any],
        target: LiveTarget,
        member: FastMember,
    ) -> SubscriptionGroup:
        while True:
            group = self._groups.get(key)
            if group is not None and group.task is not None and group.task.done():
                # Its queue stopped (it overflowed or failed) and its members are leaving:
                # a member who joined it now would wait for events that never come.
                self._forget(group)
                group = None
            if group is not None:
                group.add(member)
                return group
            starting = self._starting.get(key)
            if starting is not None:
                await asyncio.shield(starting)
                continue
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._starting[key] = future
            group = None
            try:
                group = self._start_group(key, plan, variables, target)
                group.add(member)
                # Others join (through `starting`) only once the group's queue is in the
                # room: a member's replay that ended before then would miss the events
                # committed between its last read and the queue's baseline.
                await asyncio.shield(group.ready)
                self._groups[key] = group
                return group
            except BaseException:
                if group is not None:
                    group.remove(member)  # stops the group's queue, which nobody else shares
                raise
            finally:
                del self._starting[key]
                if not future.done():
                    future.set_result(None)

    def _start_group(
        self,
        key: tuple[str, str | None, bytes],
        plan: Plan,
        variables: dict[str, Any],
        target: LiveTarget,
    ) -> SubscriptionGroup:
        context = Context(
            services=self.services,
            request=None,
            response=None,
            request_id="group",
            principal=GROUP_PRINCIPAL,
        )
        executor = Executor.build(
            self.schema,
            plan.document,
            context_value=context,
            raw_variable_values=variables,
            operation_name=plan.operation.name.value if plan.operation.name else None,
        )
        if isinstance(executor, list):
            raise RuntimeError(f"a planned document did not build: {executor}")

        def open_queue() -> contextlib.AbstractAsyncContextManager[LiveSubscription]:
            return self.services.realtime.subscribe(
                user_id=GROUP_PRINCIPAL.user_id,
                admin=True,
                project_id=target.project_id,
                room=target.room,
                operation=target.field.name,
                task_id=target.task_id,
                types=target.field.types,
                limit=self.settings.subscriber_queue_limit * GROUP_QUEUE_FACTOR,
            )

        group = SubscriptionGroup(
            key=key,
            executor=executor,
            field=target.field,
            refresh_context=lambda: context.set_principal(GROUP_PRINCIPAL),
            on_empty=self._forget,
            metrics=self.services.realtime.metrics,
        )
        group.start(open_queue)
        return group

    def _forget(self, group: SubscriptionGroup) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]

    async def _finish(self, send_message: Any, op_id: str, errors: list[GraphQLError]) -> None:
        payload = orjson.loads(error_payload(errors))
        with contextlib.suppress(Exception):
            await send_message({"id": op_id, "type": "next", "payload": payload})
            await send_message({"id": op_id, "type": "complete"})


async def _refuse(send_message: Any, op_id: str, errors: list[GraphQLError]) -> None:
    """An `error` message: the operation never started, and its id is free again."""
    with contextlib.suppress(Exception):
        await send_message({"id": op_id, "type": "error", "payload": [e.formatted for e in errors]})


def _as_graphql_error(error: TaskliveError) -> GraphQLError:
    return GraphQLError(str(error), original_error=error, extensions=error.extensions)
