"""Error classification without a schema: the domain errors' extensions (graph/errors.py),
`classify_error` on GraphQLErrors as graphql-core raises them, and the HTTP refusals."""

from __future__ import annotations

import logging

import orjson
import pytest
from graphql import GraphQLError, parse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from graph.errors import (
    BadUserInput,
    Conflict,
    CursorExpired,
    Forbidden,
    LimitExceeded,
    NotFound,
    QueryTooComplex,
    RateLimited,
    SlowConsumer,
    TaskliveError,
    Unauthenticated,
)
from graph.execution.extensions import classify_error
from graph.http.refusals import refusal


@pytest.mark.parametrize(
    ("error", "extensions"),
    [
        (Unauthenticated("x"), {"code": "UNAUTHENTICATED"}),
        (Forbidden("x"), {"code": "FORBIDDEN"}),
        (NotFound("x", field="id"), {"code": "NOT_FOUND", "field": "id"}),
        (
            BadUserInput("x", field="input.title"),
            {"code": "BAD_USER_INPUT", "field": "input.title"},
        ),
        (Conflict("x", current_version=4), {"code": "CONFLICT", "currentVersion": 4}),
        (RateLimited("x", retry_after=0.12345), {"code": "RATE_LIMITED", "retryAfter": 0.123}),
        (CursorExpired("x"), {"code": "CURSOR_EXPIRED"}),
        (
            QueryTooComplex("x", limit="depth", maximum=12, actual=13),
            {"code": "QUERY_TOO_COMPLEX", "limit": "depth", "maximum": 12, "actual": 13},
        ),
        (
            QueryTooComplex("x", limit="tokens", maximum=2000, actual=None),
            {"code": "QUERY_TOO_COMPLEX", "limit": "tokens", "maximum": 2000},
        ),
        (
            LimitExceeded("x", limit="subscriptions_per_connection", maximum=3),
            {"code": "LIMIT_EXCEEDED", "limit": "subscriptions_per_connection", "maximum": 3},
        ),
        (SlowConsumer(), {"code": "SLOW_CONSUMER"}),
    ],
)
def test_each_domain_error_carries_its_code_and_figures(
    error: TaskliveError, extensions: dict[str, object]
) -> None:
    assert error.extensions == extensions


def test_a_domain_error_keeps_its_own_code_through_classification() -> None:
    original = Forbidden("not yours")
    error = GraphQLError(
        "not yours", path=["task"], original_error=original, extensions=original.extensions
    )
    assert classify_error(error, None) is error
    assert error.extensions == {"code": "FORBIDDEN"}


def test_a_syntax_error_is_parse_failed() -> None:
    error = classify_error(GraphQLError("Syntax Error: Expected Name, found <EOF>."), None)
    assert error.extensions == {"code": "GRAPHQL_PARSE_FAILED"}


def test_an_unknown_field_is_validation_failed() -> None:
    error = classify_error(GraphQLError("Cannot query field 'nope' on type 'Query'."), None)
    assert error.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_a_code_already_given_is_kept() -> None:
    error = GraphQLError("Syntax Error: x", extensions={"code": "QUERY_TOO_COMPLEX"})
    assert classify_error(error, None).extensions == {"code": "QUERY_TOO_COMPLEX"}


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Variable '$i' got invalid value 'x' at 'i.status'; ...", "i"),
        ("Variable '$i' has invalid value at .status: Value 'DONE' does not exist", "i.status"),
        (
            "Variable '$i' got invalid value {}; Field 'title' of required type 'String!' was not"
            " provided. ... to include required field 'title'",
            "i.title",
        ),
        ("Variable '$n' of required type 'Int!' was not provided.", "n"),
    ],
)
def test_a_variable_that_does_not_coerce_is_bad_user_input_naming_it(
    message: str, field: str
) -> None:
    error = classify_error(GraphQLError(message), None)
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}


def test_a_literal_argument_that_does_not_coerce_names_the_argument() -> None:
    document = parse("{ tasks(projectId: 1, status: DONE) { totalCount } }")
    value = next(
        a.value
        for a in document.definitions[0].selection_set.selections[0].arguments  # type: ignore[attr-defined]
        if a.name.value == "status"
    )
    error = GraphQLError("Value 'DONE' does not exist in 'TaskStatus' enum.", nodes=[value])
    assert classify_error(error, document).extensions == {
        "code": "BAD_USER_INPUT",
        "field": "status",
    }


def test_an_unexpected_error_is_masked_logged_and_given_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = GraphQLError(
        "password=hunter2", path=["me"], original_error=RuntimeError("password=hunter2")
    )
    with caplog.at_level(logging.ERROR, logger="graph.execution.extensions"):
        masked = classify_error(error, None)
    assert masked.message == "Internal server error"
    assert masked.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "-"}
    assert masked.path == ["me"]
    assert "unexpected error in me" in caplog.text


def test_a_graphql_error_raised_by_a_resolver_during_execution_is_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner = GraphQLError("internal detail", original_error=ValueError("x"))
    error = GraphQLError("internal detail", path=["task"], original_error=inner)
    assert classify_error(error, None).extensions == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": "-",
    }


def test_an_argument_that_does_not_coerce_during_execution_is_the_clients() -> None:
    inner = GraphQLError("Argument 'id' of non-null type 'ID!' must not be null.")
    error = GraphQLError(inner.message, path=["task"], original_error=inner)
    assert classify_error(error, None).extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (413, "PAYLOAD_TOO_LARGE"),
        (429, "TOO_MANY_REQUESTS"),
        (418, "BAD_REQUEST"),
    ],
)
def test_an_http_refusal_is_a_graphql_response_with_a_code(status: int, code: str) -> None:
    response = refusal(status, "no", extensions={"limit": "body"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert orjson.loads(response.body) == {
        "errors": [{"message": "no", "extensions": {"code": code, "limit": "body"}}]
    }


def test_an_http_refusal_may_answer_in_the_graphql_response_type() -> None:
    response = refusal(415, "no", media_type="application/graphql-response+json")
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"


def test_an_operation_the_transport_does_not_run_is_a_bad_request() -> None:
    """Strawberry refuses a query over the legacy graphql-ws protocol before execution."""
    original = InvalidOperationTypeError(OperationType.QUERY)
    error = classify_error(GraphQLError("queries are not allowed", original_error=original), None)
    assert error.message == "queries are not allowed"
    assert error.extensions == {"code": "BAD_REQUEST"}
