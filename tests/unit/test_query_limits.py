"""graph/execution/query_limits.py on the real schema: depth, aliases, cost, fragments once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import GraphQLSchema, get_introspection_query, parse

from graph.errors import QueryTooComplex
from graph.execution.query_limits import LIST_SIZE, Figures, Limits, check, measure, too_many_tokens
from graph.schema.root import build_schema
from graph.settings import Settings
from tests.support.documents import doubling_fragments, fragment_chain

LIMITS = Limits(depth=12, aliases=30, cost=20_000, default_page=20, max_page=100)
NESTED = (
    "{ task(id: 1) { project { tasks(first: %d) { edges { node { "
    "project { tasks(first: %d) { edges { node { id } } } } } } } } } }"
)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    settings = Settings(jwt_secret="x" * 32, tasklive_env="test")
    return build_schema(settings)._schema


def figures(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None) -> Figures:
    measured = measure(schema, parse(query), variables, LIMITS)
    return next(f for name, f in measured.items() if not name.startswith("..."))


def refusal(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None) -> Any:
    with pytest.raises(QueryTooComplex) as caught:
        check(schema, parse(query), variables, LIMITS)
    return caught.value.extensions


def test_depth_counts_levels_below_the_root(schema: GraphQLSchema) -> None:
    assert figures(schema, "{ me { id } }").depth == 1
    assert figures(schema, "{ projects { members { user { id } } } }").depth == 3
    hidden = "query { projects { ...P } } fragment P on Project { tasks { edges { node { id } } } }"
    assert figures(schema, hidden).depth == 4
    # Introspection nests `ofType` by design: not counted toward depth, as before.
    assert figures(schema, get_introspection_query()).depth == 0


def test_aliases_count_each_copy_a_fragment_makes(schema: GraphQLSchema) -> None:
    query = "query { a: me { ...U } b: me { ...U } } fragment U on User { c: id d: name }"
    assert figures(schema, query).aliases == 6


def test_cost_multiplies_page_sizes_along_nested_lists(schema: GraphQLSchema) -> None:
    assert figures(schema, "{ me { id } }").cost == 2
    # A connection's `first` multiplies everything below it; its `edges` count once.
    assert figures(schema, "{ tasks(projectId: 1, first: 5) { edges { node { id } } } }").cost == (
        1 + 5 * (1 + 1 + 1)
    )
    # No `first`: the default page size.
    assert figures(schema, "{ tasks(projectId: 1) { totalCount } }").cost == 1 + 20 * 1
    # A paginated list (`taskEvents`) holds `first` items.
    assert figures(schema, "{ taskEvents(projectId: 1, first: 7) { cursor } }").cost == 7 * 2
    # An unpaginated list counts LIST_SIZE items.
    assert figures(schema, "{ projects { id } }").cost == LIST_SIZE * 2
    assert figures(schema, NESTED % (100, 100)).cost == 30_403
    assert figures(schema, NESTED % (100, 10)).cost == 3_403


def test_first_from_variables_and_their_defaults(schema: GraphQLSchema) -> None:
    query = (
        "query($n: Int = 100) { task(id: 1) { project { ...P } } } "
        "fragment P on Project { tasks(first: $n) { edges { node { id } } } }"
    )
    assert figures(schema, query).cost == 3 + 100 * 3
    assert figures(schema, query, {"n": 5}).cost == 3 + 5 * 3
    # A size the resolver refuses (it names the argument) counts as the largest page.
    assert figures(schema, query, {"n": 10**9}).cost == 3 + 100 * 3
    assert figures(schema, query, {"n": "many"}).cost == 3 + 20 * 3


def test_refusals_name_the_limit_the_maximum_and_the_figure(schema: GraphQLSchema) -> None:
    assert refusal(schema, NESTED % (100, 100)) == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "cost",
        "maximum": 20_000,
        "actual": 30_403,
    }
    check(schema, parse(NESTED % (100, 10)), None, LIMITS)
    aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + " }"
    assert refusal(schema, aliases)["limit"] == "aliases"
    chain = (
        "{ task(id: 1) "
        + "{ project { tasks { edges { node " * 3
        + "{ id }"
        + " } } } }" * 3
        + " }"
    )
    assert refusal(schema, chain)["limit"] == "depth"


@pytest.mark.parametrize("levels", [21, 30, 60])
def test_a_fragment_bomb_is_measured_in_microseconds(schema: GraphQLSchema, levels: int) -> None:
    document = parse(doubling_fragments(levels))
    started = time.perf_counter()
    measured = measure(schema, document, None, LIMITS)
    elapsed = time.perf_counter() - started
    assert measured[""].cost == 2 * 2**levels
    assert elapsed < 0.05
    assert refusal(schema, doubling_fragments(levels))["limit"] == "cost"


def test_a_bomb_of_bare_spreads_still_costs_its_leaves(schema: GraphQLSchema) -> None:
    assert refusal(schema, doubling_fragments(20, leaf="__typename"))["actual"] == 2**20


def test_unused_fragments_and_every_operation_are_checked(schema: GraphQLSchema) -> None:
    unused = "query { me { id } } " + doubling_fragments(20).split(" ", 4)[-1]
    assert refusal(schema, unused)["limit"] == "cost"
    two = "query Cheap { me { id } } query Dear " + NESTED % (100, 100)
    assert refusal(schema, two)["limit"] == "cost"


def test_cycles_and_long_chains_cost_no_stack(schema: GraphQLSchema) -> None:
    cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A me { id } }"
    assert figures(schema, cycle).cost == 2
    assert figures(schema, fragment_chain(3000)).cost == 2


def test_unknown_fields_and_fragments_are_left_to_validation(schema: GraphQLSchema) -> None:
    assert figures(schema, "{ nope { deeper { id } } ...Missing }").depth == 2


def test_the_default_limits_take_every_query_of_the_web_board(schema: GraphQLSchema) -> None:
    settings = Settings(jwt_secret="x" * 32, tasklive_env="test")
    board = (
        "query($p: ID!, $after: String) { project(id: $p) { id name "
        "members { role user { id name } } "
        "tasks(first: 100, after: $after) { pageInfo { hasNextPage endCursor } "
        "edges { node { id title status version createdAt assignee { id name } } } } } }"
    )
    check(schema, parse(board), {"p": "1"}, Limits.from_settings(settings))
    check(schema, parse(get_introspection_query()), None, Limits.from_settings(settings))


def test_limits_come_from_the_settings_with_the_default_page_capped() -> None:
    settings = Settings(
        jwt_secret="x" * 32,
        tasklive_env="test",
        max_query_depth=5,
        max_aliases=6,
        max_query_cost=70,
        default_page_size=50,
        max_page_size=40,
    )
    assert Limits.from_settings(settings) == Limits(
        depth=5, aliases=6, cost=70, default_page=40, max_page=40
    )


def test_a_document_exactly_at_each_limit_passes(schema: GraphQLSchema) -> None:
    query = "{ projects { members { user { id } } } }"
    measured = figures(schema, query)
    exact = Limits(
        depth=measured.depth, aliases=0, cost=measured.cost, default_page=20, max_page=100
    )
    check(schema, parse(query), None, exact)
    tighter = Limits(
        depth=measured.depth - 1, aliases=0, cost=measured.cost, default_page=20, max_page=100
    )
    with pytest.raises(QueryTooComplex):
        check(schema, parse(query), None, tighter)


def test_the_token_refusal_has_no_actual_figure() -> None:
    assert too_many_tokens(2000).extensions == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "tokens",
        "maximum": 2000,
    }
