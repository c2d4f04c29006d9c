"""Query limits: a document's depth, aliases and cost, in one pass with fragments memoised.

Runs after parsing and before validation, so that no document costs more than its size to
refuse: validation rules and the execution walk every path, and a fragment spread twice
by the fragment it spreads doubles the paths at each level.

The cost is the number of values an answer may hold, the way GitHub's GraphQL API counts
nodes: each field counts 1 per item it can appear in. A field with a `first` argument
multiplies everything below it by `first` (or the default page size when it is absent);
when the field itself is a list, its items are that many. A list without pagination counts
LIST_SIZE items: the schema's unpaginated lists (a user's projects, a project's members,
the viewers of a room, an event's changed fields) are small by nature, and a page of
tasks is the biggest thing a board loads. The list of a connection (`edges`) counts once:
its connection's `first` already counted its items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from graph.errors import QueryTooComplex
from graph.settings import Settings

LIST_SIZE = 10
PAGE_ARGUMENT = "first"
CONNECTION_SUFFIX = "Connection"


@dataclass(frozen=True, slots=True)
class Figures:
    """What a selection set (or an operation) costs; depth counts levels below the root."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    depth: int
    aliases: int
    cost: int
    default_page: int
    max_page: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            depth=settings.max_query_depth,
            aliases=settings.max_aliases,
            cost=settings.max_query_cost,
            default_page=min(settings.default_page_size, settings.max_page_size),
            max_page=settings.max_page_size,
        )


class _Walk:
    """One walk of one document, for one request's variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.limits = limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, Figures] = {}
        # A variable the request leaves out takes its default; fragments are walked once for
        # every operation, so they see the largest default any operation gives the name.
        self.defaults: dict[str, list[Any]] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                for variable in definition.variable_definitions or ():
                    default = variable.default_value
                    self.defaults.setdefault(variable.variable.name.value, []).append(default)

    def fragments_in_order(self) -> list[str]:
        """Every fragment after the fragments it spreads (a cycle is broken anywhere).

        Iterative, so that a chain of hundreds of fragments costs no Python stack; each
        fragment's own figures then recurse only as deep as its selections nest.
        """
        order: list[str] = []
        seen: set[str] = set()
        for root in self.fragments:
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, iter(_spreads(self.fragments[root].selection_set)))]
            while stack:
                name, pending = stack[-1]
                for spread in pending:
                    if spread in self.fragments and spread not in seen:
                        seen.add(spread)
                        stack.append((spread, iter(_spreads(self.fragments[spread].selection_set))))
                        break
                else:
                    stack.pop()
                    order.append(name)
        return order

    def fragment(self, definition: FragmentDefinitionNode) -> Figures:
        parent = self.schema.get_type(definition.type_condition.name.value)
        return self.selection_set(definition.selection_set, parent)

    def operation(self, definition: OperationDefinitionNode) -> Figures:
        root = self.schema.get_root_type(definition.operation)
        return self.selection_set(definition.selection_set, root)

    def selection_set(self, node: SelectionSetNode, parent: GraphQLNamedType | None) -> Figures:
        depth = aliases = cost = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                figures = self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                figures = self.selection_set(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                # Not yet known only inside a cycle, which validation refuses anyway.
                figures = self.memo.get(selection.name.value, Figures())
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            depth = max(depth, figures.depth)
            aliases += figures.aliases
            cost += figures.cost
        return Figures(depth=depth, aliases=aliases, cost=cost)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Figures:
        aliases = 1 if node.alias else 0
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        field_type: Any = definition.type if definition else None
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        is_list = isinstance(field_type, GraphQLList)
        while isinstance(field_type, GraphQLList | GraphQLNonNull):
            field_type = field_type.of_type
        items, below = 1, 1
        if definition is not None and PAGE_ARGUMENT in definition.args:
            page = self.page_size(node)
            items, below = (page, 1) if is_list else (1, page)
        elif is_list and not (parent and parent.name.endswith(CONNECTION_SUFFIX)):
            items = LIST_SIZE
        if node.selection_set is None:
            return Figures(aliases=aliases, cost=items)
        inner = self.selection_set(node.selection_set, field_type)
        # Introspection (`__schema`, `__type`) nests `ofType` deeply by design; it is not
        # counted toward depth, as before, but its cost is.
        depth = 0 if node.name.value.startswith("__") else inner.depth + 1
        return Figures(
            depth=depth,
            aliases=aliases + inner.aliases,
            cost=items * (1 + below * inner.cost),
        )

    def page_size(self, node: FieldNode) -> int:
        """`first` as the request gives it, within what the resolver allows (which
        refuses a size out of range itself, naming the argument)."""
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value == PAGE_ARGUMENT:
                value = argument.value
        if isinstance(value, VariableNode):
            name = value.name.value
            if name not in self.variables:
                return max(map(self.value_size, self.defaults.get(name, [None])))
            value = self.variables[name]
        return self.value_size(value)

    def value_size(self, value: Any) -> int:
        if isinstance(value, IntValueNode):
            value = int(value.value)
        if not isinstance(value, int) or isinstance(value, bool):
            return self.limits.default_page
        return min(max(value, 0), self.limits.max_page)


def _spreads(node: SelectionSetNode) -> list[str]:
    """The fragments a selection set spreads, at any depth (without following them)."""
    names: list[str] = []
    pending = [node]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif selection.selection_set is not None:  # type: ignore[attr-defined]
                pending.append(selection.selection_set)  # type: ignore[attr-defined]
    return names


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    limits: Limits,
) -> dict[str, Figures]:
    """The figures of each operation (by name, "" for an anonymous one) and of each
    fragment (by `...name`), each fragment walked once however often it is spread."""
    # Variables that are not an object fail their own check later; here they count as none.
    walk = _Walk(schema, document, variables if isinstance(variables, Mapping) else {}, limits)
    figures: dict[str, Figures] = {}
    for name in walk.fragments_in_order():
        walk.memo[name] = walk.fragment(walk.fragments[name])
        figures[f"...{name}"] = walk.memo[name]
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else ""
            figures[name] = walk.operation(definition)
    return figures


def check(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    limits: Limits,
) -> None:
    """Raises QueryTooComplex for a document over a limit: depth, aliases, then cost.

    Every operation and fragment is checked, not only the one that would run: the
    validation that follows walks them all.
    """
    figures = measure(schema, document, variables, limits).values()
    for limit, maximum in (
        ("depth", limits.depth),
        ("aliases", limits.aliases),
        ("cost", limits.cost),
    ):
        actual = max((getattr(f, limit) for f in figures), default=0)
        if actual > maximum:
            raise QueryTooComplex(
                f"query too complex: {limit} {actual} is over the maximum of {maximum}",
                limit=limit,
                maximum=maximum,
                actual=actual,
            )


def too_many_tokens(maximum: int) -> QueryTooComplex:
    """The parser stopped at `maximum` tokens: the document's count is not known."""
    return QueryTooComplex(
        f"query too complex: more than {maximum} tokens",
        limit="tokens",
        maximum=maximum,
        actual=None,
    )
