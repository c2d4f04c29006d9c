"""The fast path for live subscriptions over graphql-transport-ws.

A `subscribe` for one of the live fields (`taskUpdated`, `taskCreated`, `taskDeleted`,
`taskEvents`) on a socket whose frames can be written directly joins a
`SubscriptionGroup` of the same document and variables instead of running its own
per-event execution. Anything else (other fields, invalid documents, the legacy protocol,
HTTP streams) takes Strawberry's ordinary path, which also reports every error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from graph.auth import Principal
from graph.context import Context, Services
from graph.errors import TaskliveError
from graph.realtime.groups import FastMember, SubscriptionGroup, error_payload
from graph.realtime.hub import CLOSE_TRY_AGAIN_LATER, LiveConnection
from graph.realtime.records import EventRecord
from graph.realtime.rooms import LiveSubscription

log = logging.getLogger(__name__)

LIVE_FIELDS = frozenset({"taskUpdated", "taskCreated", "taskDeleted", "taskEvents"})
# The group's own context: every member was allowed into the room, and nothing below a
# live field leaves the room's project, so the group resolves fields as a reader of it.
GROUP_PRINCIPAL = Principal(
    user_id="tasklive:group", name=None, email=None, is_admin=True, expires_at=None
)
GROUP_QUEUE_FACTOR = 10


@dataclass(frozen=True, slots=True)
class Plan:
    document: DocumentNode
    operation: OperationDefinitionNode
    field_name: str
    field_node: FieldNode
    field_def: GraphQLField
    # Variables used only as the live field's `after`: they do not split groups.
    resume_variables: frozenset[str]


def _resume_variables(operation: OperationDefinitionNode, node: FieldNode) -> frozenset[str]:
    names = {
        a.value.name.value
        for a in node.arguments or ()
        if a.name.value == "after" and isinstance(a.value, VariableNode)
    }
    if not names:
        return frozenset()
    used_elsewhere: set[str] = set()

    class Uses(Visitor):
        def enter_variable(self, variable: VariableNode, *_: Any) -> None:
            used_elsewhere.add(variable.name.value)

    for argument in node.arguments or ():
        if argument.name.value != "after":
            visit(argument, Uses())
    if node.selection_set is not None:
        visit(node.selection_set, Uses())
    return frozenset(names - used_elsewhere)


class FastPath:
    def __init__(self, services: Services, schema: Any, *, cache_size: int = 256) -> None:
        self.services = services
        self.schema = schema  # the graphql-core schema under Strawberry's
        self.settings = services.settings
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._cache_size = cache_size
        self._groups: dict[tuple[str, str | None, bytes], SubscriptionGroup] = {}
        self._starting: dict[tuple[str, str | None, bytes], asyncio.Future[None]] = {}
        self._rules = [
            *specified_rules,
            *QueryDepthLimiter(max_depth=self.settings.max_query_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=self.settings.max_aliases).validation_rules,
        ]

    # -- documents

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        """A checked plan for a single live field, or None: then the ordinary path runs."""
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = self._make_plan(query, operation_name)
        self._plans[key] = plan
        if len(self._plans) > self._cache_size:
            self._plans.popitem(last=False)
        return plan

    def _make_plan(self, query: str, operation_name: str | None) -> Plan | None:
        try:
            document = parse(query, max_tokens=self.settings.max_tokens)
        except GraphQLError:
            return None
        if validate(self.schema, document, self._rules):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
            return None
        operation = operations[0]
        selections = operation.selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode):
            return None
        node = selections[0]
        if node.directives or node.name.value not in LIVE_FIELDS:
            return None
        subscription_type = self.schema.subscription_type
        field_def = subscription_type.fields[node.name.value]
        if any(isinstance(d, FragmentDefinitionNode) for d in document.definitions):
            return None  # fragments could use the resume variable; keep the plain path
        return Plan(
            document,
            operation,
            node.name.value,
            node,
            field_def,
            _resume_variables(operation, node),
        )

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
        from graph.resolvers.subscriptions import replay, resolve_target

        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or [], variables or {}
        )
        if isinstance(coerced, list):
            await self._finish(send_message, op_id, coerced)
            return
        args = get_argument_values(plan.field_def, plan.field_node, coerced)
        try:
            target = await resolve_target(context, plan.field_name, args)
        except TaskliveError as error:
            await self._finish(send_message, op_id, [_as_graphql_error(error)])
            return
        principal = context.require_user()
        connection = context.connection
        socket = context.raw_socket
        assert connection is not None and socket is not None
        shared = {k: v for k, v in (variables or {}).items() if k not in plan.resume_variables}
        key = (
            plan.document.loc.source.body if plan.document.loc else "",
            plan.operation.name.value if plan.operation.name else None,
            orjson.dumps(shared, option=orjson.OPT_SORT_KEYS),
        )
        hub = self.services.realtime
        member = FastMember(
            op_id=op_id,
            socket=socket,
            user_id=principal.user_id,
            admin=principal.is_admin,
            project_id=target.project_id,
            room=target.room,
            operation=target.operation,
            catching_up=target.after_seq is not None,
            limit_bytes=self.settings.subscriber_buffer_bytes,
            limit_events=self.settings.subscriber_queue_limit,
            on_slow=lambda m: self._close_slow(connection),
        )
        group = await self._join(key, plan, shared, target, member)
        hub.add_viewer(member)
        try:
            if target.after_seq is not None:
                await self._catch_up(context, group, member, replay(context, target), target)
            outcome = await member.done
        finally:
            hub.remove_viewer(member)
            group.remove(member)
        if outcome is not None:
            await self._finish(send_message, op_id, [_as_graphql_error(outcome)])

    async def _catch_up(
        self,
        context: Context,
        group: SubscriptionGroup,
        member: FastMember,
        records: AsyncIterator[EventRecord],
        target: Any,
    ) -> None:
        """Replay the log after the cursor to this member, then release what came live."""
        async for record in records:
            if member.done.done():
                return
            if not target.wants(record):
                member.last_seq = record.seq
                continue
            payload, ending = await group.render(record)
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
        target: Any,
        member: FastMember,
    ) -> SubscriptionGroup:
        while True:
            group = self._groups.get(key)
            if group is not None:
                group.add(member)
                return group
            starting = self._starting.get(key)
            if starting is not None:
                await asyncio.shield(starting)
                continue
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._starting[key] = future
            try:
                group = self._start_group(key, plan, variables, target)
                group.add(member)
                self._groups[key] = group
                await asyncio.shield(self._ready(group))
                return group
            except BaseException:
                self._groups.pop(key, None)
                raise
            finally:
                del self._starting[key]
                if not future.done():
                    future.set_result(None)

    async def _ready(self, group: SubscriptionGroup) -> None:
        await group.ready

    def _start_group(
        self,
        key: tuple[str, str | None, bytes],
        plan: Plan,
        variables: dict[str, Any],
        target: Any,
    ) -> SubscriptionGroup:
        from graph.resolvers.subscriptions import deleted_error
        from graph.schema.events import TaskDeletedEvent, event_from_record

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

        def make_root(record: EventRecord) -> Any:
            event = event_from_record(record)
            if target.operation == "taskUpdated" and isinstance(event, TaskDeletedEvent):
                return deleted_error(event)
            return event

        def open_queue() -> contextlib.AbstractAsyncContextManager[LiveSubscription]:
            return self.services.realtime.subscribe(
                user_id=GROUP_PRINCIPAL.user_id,
                admin=True,
                project_id=target.project_id,
                room=target.room,
                operation=target.operation,
                task_id=target.task_id,
                types=target.types,
                viewer=False,
                limit=self.settings.subscriber_queue_limit * GROUP_QUEUE_FACTOR,
            )

        group = SubscriptionGroup(
            key=key,
            executor=executor,
            make_root=make_root,
            refresh_context=lambda: context.set_principal(GROUP_PRINCIPAL),
            on_empty=self._forget,
            metrics=self.services.realtime.metrics,
        )
        group.start(open_queue)
        return group

    def _forget(self, group: SubscriptionGroup) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]

    def _close_slow(self, connection: LiveConnection) -> None:
        hub = self.services.realtime
        hub.metrics.slow_consumer_closes += 1
        hub.metrics.closes[CLOSE_TRY_AGAIN_LATER] += 1
        log.warning(
            "closing connection %s of %s: too far behind", connection.id, connection.user_id
        )
        hub.spawn(connection.close(CLOSE_TRY_AGAIN_LATER, "subscriber too far behind"))

    async def _finish(self, send_message: Any, op_id: str, errors: list[GraphQLError]) -> None:
        payload = orjson.loads(error_payload(errors))
        with contextlib.suppress(Exception):
            await send_message({"id": op_id, "type": "next", "payload": payload})
            await send_message({"id": op_id, "type": "complete"})

    @property
    def groups(self) -> int:
        return len(self._groups)


def _as_graphql_error(error: TaskliveError) -> GraphQLError:
    return GraphQLError(str(error), original_error=error, extensions=error.extensions)
