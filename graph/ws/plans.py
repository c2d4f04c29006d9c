"""Which subscribe documents the fast path serves, checked once per document text.

A plan is made for a valid document whose one operation is a subscription with a single
live field at its root (one declared in graph/resolvers/live_fields.py; no directives, no
fragments, no field whose value depends on who asks, since a group renders an event once for
all its members); anything else gets no plan and runs on Strawberry's ordinary path, which also
reports its errors.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)

from graph.errors import QueryTooComplex
from graph.execution import query_limits
from graph.resolvers.live_fields import LIVE_FIELDS, LiveField
from graph.schema.user import VIEWER_DEPENDENT_FIELDS
from graph.settings import Settings


@dataclass(frozen=True, slots=True)
class Plan:
    document: DocumentNode
    operation: OperationDefinitionNode
    live: LiveField[Any]
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


class _FieldFinder(Visitor):
    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names
        self.found = False

    def enter_field(self, node: FieldNode, *_: object) -> object:
        if node.name.value in self.names:
            self.found = True
            return BREAK
        return None


def selects_viewer_dependent_fields(document: DocumentNode) -> bool:
    """Whether the document asks for a field whose value depends on who asks (`email`):
    the fast path renders one event once for every subscriber, so it cannot serve it."""
    finder = _FieldFinder(VIEWER_DEPENDENT_FIELDS)
    visit(document, finder)
    return finder.found


class Planner:
    """Plans by (document, operation name), in a bounded LRU cache."""

    def __init__(self, schema: GraphQLSchema, settings: Settings, *, cache_size: int = 256) -> None:
        self.schema = schema
        self.settings = settings
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._cache_size = cache_size
        self._limits = query_limits.Limits.from_settings(settings)

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
        # The limits before the rest of validation, as on the ordinary path, which reports
        # the refusal. A plan serves any variables, so every `first` given by a variable
        # counts as the largest page; a document over the limits that way takes the ordinary
        # path, which checks each request with its own variables.
        largest = {
            v.variable.name.value: self._limits.max_page
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            for v in d.variable_definitions or ()
        }
        try:
            query_limits.check(self.schema, document, largest, self._limits)
        except QueryTooComplex:
            return None
        if validate(self.schema, document, specified_rules):
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
        live = LIVE_FIELDS.get(node.name.value)
        subscription_type = self.schema.subscription_type
        if node.directives or live is None or subscription_type is None:
            return None
        field_def = subscription_type.fields[node.name.value]
        if any(isinstance(d, FragmentDefinitionNode) for d in document.definitions):
            return None  # fragments could use the resume variable; keep the plain path
        if selects_viewer_dependent_fields(document):
            return None
        return Plan(
            document,
            operation,
            live,
            node,
            field_def,
            _resume_variables(operation, node),
        )
