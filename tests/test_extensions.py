"""The ErrorCodes extension on a tiny schema: masking, codes, the fields of bad input."""

from __future__ import annotations

import enum
import logging
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import ValidationContext, ValidationRule
from strawberry.extensions import AddValidationRules, ParserCache

from graph.errors import Forbidden
from graph.execution.extensions import ErrorCodes, build_extensions
from graph.logs import RequestRecord, current_request
from graph.schema.root import TaskliveSchema
from graph.settings import Settings

SECRET = "password=hunter2"


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.input
class Paint:
    colour: Colour
    name: str


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> str:
        return "ok"

    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError(f"lost the connection ({SECRET})")

    @strawberry.field
    async def boom_async(self) -> str | None:
        raise KeyError(SECRET)

    @strawberry.field
    def refuse(self) -> str:
        raise Forbidden("not yours")

    @strawberry.field
    def paint(self, colour: Colour, first: int = 1, paint: Paint | None = None) -> str:
        return colour.value


def tiny_schema(*extensions: Any) -> strawberry.Schema:
    return TaskliveSchema(query=Query, extensions=[ErrorCodes, *extensions])


async def test_unexpected_errors_are_masked_with_the_logged_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = tiny_schema()
    record = RequestRecord(kind="http")
    reset = current_request.set(record)
    try:
        with caplog.at_level(logging.ERROR, logger="graph.execution.extensions"):
            result = await schema.execute("query Broken { ok boom bomb: boomAsync }")
    finally:
        current_request.reset(reset)

    assert result.data == {"ok": "ok", "boom": None, "bomb": None}
    assert result.errors is not None and len(result.errors) == 2
    for error, path in zip(result.errors, (["boom"], ["bomb"]), strict=True):
        assert error.message == "Internal server error"
        assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": record.id}
        assert error.path == path
        assert SECRET not in str(error.formatted)

    logged = [r for r in caplog.records if r.name == "graph.execution.extensions"]
    assert len(logged) == 2
    for line, exc_type in zip(logged, (RuntimeError, KeyError), strict=True):
        assert line.levelno == logging.ERROR
        assert record.id in line.getMessage()
        assert line.exc_info is not None and isinstance(line.exc_info[1], exc_type)
        assert SECRET in str(line.exc_info[1])  # the details go to the log, not to the client
    assert record.operations == ["Broken"]


async def test_masking_without_a_request_still_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="graph.execution.extensions"):
        result = await tiny_schema().execute("{ boom }")
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "-"}
    assert [r.name for r in caplog.records] == ["graph.execution.extensions"]


async def test_domain_errors_keep_their_code_and_are_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await tiny_schema().execute("{ refuse }")
    assert result.errors is not None
    assert result.errors[0].message == "not yours"
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ ok(", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ ok { x } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
@pytest.mark.parametrize("cached", [False, True], ids=["parse", "parser-cache"])
async def test_parse_and_validation_errors_carry_a_code(
    query: str, code: str, cached: bool
) -> None:
    # ParserCache parses inside its hook, so its syntax errors take another path to the reply.
    extensions = [lambda: ParserCache(maxsize=8)] if cached else []
    result = await tiny_schema(*extensions).execute(query)
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": code}


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        ("{ paint(colour: GREEN) }", {}, "colour"),
        ('{ paint(colour: "RED") }', {}, "colour"),
        ("{ paint(colour: RED, first: 99999999999) }", {}, "first"),
        ('{ paint(colour: RED, paint: {colour: GREEN, name: "n"}) }', {}, "paint.colour"),
        ("query($c: Colour!) { paint(colour: $c) }", {"c": "GREEN"}, "c"),
        ("query($c: Colour!) { paint(colour: $c) }", {"c": 1}, "c"),
        ("query($c: Colour!) { paint(colour: $c) }", {}, "c"),
        ("query($f: Int) { paint(colour: RED, first: $f) }", {"f": 2**31}, "f"),
        ("query($f: Int) { paint(colour: RED, first: $f) }", {"f": "one"}, "f"),
        (
            "query($p: Paint) { paint(colour: RED, paint: $p) }",
            {"p": {"colour": "GREEN", "name": "n"}},
            "p.colour",
        ),
        ("query($p: Paint) { paint(colour: RED, paint: $p) }", {"p": {"colour": "RED"}}, "p.name"),
        (
            "query($p: Paint) { paint(colour: RED, paint: $p) }",
            {"p": {"colour": "RED", "name": "n", "shine": 1}},
            "p.shine",
        ),
    ],
)
async def test_malformed_input_is_bad_user_input_naming_the_field(
    query: str, variables: dict[str, Any], field: str
) -> None:
    result = await tiny_schema().execute(query, variable_values=variables)
    assert result.data is None
    assert result.errors is not None and len(result.errors) == 1
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": field}


class CountingRule(ValidationRule):
    """Counts how often validation really runs (the cache skips it on a hit)."""

    runs: ClassVar[int] = 0

    def __init__(self, context: ValidationContext) -> None:
        CountingRule.runs += 1
        super().__init__(context)


async def test_validation_is_cached_with_the_limits_on() -> None:
    # A cache size no other test uses, so this test has the cache to itself.
    settings = Settings(jwt_secret="x" * 32, tasklive_env="test", document_cache_size=97)
    schema = TaskliveSchema(
        query=Query,
        extensions=[*build_extensions(settings), lambda: AddValidationRules([CountingRule])],
    )
    CountingRule.runs = 0
    for _ in range(3):
        result = await schema.execute("{ ok }")
        assert result.errors is None
    assert CountingRule.runs == 1
    # ... and the limits are still applied to what the cache holds.
    deep = "{ " + " ".join(f"a{i}: ok" for i in range(31)) + " }"
    for _ in range(2):
        result = await schema.execute(deep)
        assert result.errors is not None
        assert result.errors[0].extensions == {
            "code": "QUERY_TOO_COMPLEX",
            "limit": "aliases",
            "maximum": 30,
            "actual": 31,
        }


async def test_too_many_tokens_is_a_query_limit() -> None:
    settings = Settings(jwt_secret="x" * 32, tasklive_env="test", max_tokens=10)
    schema = TaskliveSchema(query=Query, extensions=build_extensions(settings))
    assert (await schema.execute("{ ok }")).errors is None
    for _ in range(2):  # the parser cache does not remember a refusal as a document
        result = await schema.execute("{ " + "ok " * 10 + "}")
        assert result.errors is not None
        assert result.errors[0].extensions == {
            "code": "QUERY_TOO_COMPLEX",
            "limit": "tokens",
            "maximum": 10,
        }
