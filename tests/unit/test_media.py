"""graph/http/media.py: which operation a GraphQL-over-HTTP request runs, and which media type
its `Accept` header asks for."""

from __future__ import annotations

import pytest

from graph.http.media import (
    GRAPHQL_RESPONSE_JSON,
    accepts_json,
    is_request_error,
    is_subscription,
    media_qualities,
    prefers_graphql_response_json,
)

SUBSCRIBE = "subscription S { taskCreated(projectId: 1) { cursor } }"
QUERY = "query Q { me { id } }"


def test_qualities_default_to_one_and_read_q() -> None:
    assert media_qualities("application/json, text/html;q=0.5") == {
        "application/json": 1.0,
        "text/html": 0.5,
    }


def test_qualities_ignore_case_spaces_and_other_parameters() -> None:
    quality = media_qualities(" Application/JSON ; charset=utf-8 ; Q = 0.3 ")
    assert quality == {"application/json": 0.3}


def test_a_type_listed_twice_keeps_its_best_quality() -> None:
    assert media_qualities("text/html;q=0.2, text/html;q=0.7")["text/html"] == 0.7


def test_an_unreadable_quality_counts_as_zero() -> None:
    assert media_qualities("application/json;q=high")["application/json"] == 0.0


@pytest.mark.parametrize(
    ("accept", "preferred"),
    [
        (GRAPHQL_RESPONSE_JSON, True),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json", True),  # a tie goes to the new type
        (f"{GRAPHQL_RESPONSE_JSON};q=0.9, application/json", False),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE_JSON};q=0.6", True),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_the_graphql_response_type_is_chosen_when_ranked_at_least_as_high(
    accept: str, preferred: bool
) -> None:
    assert prefers_graphql_response_json(accept) is preferred


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ("application/json", True),
        (GRAPHQL_RESPONSE_JSON, True),
        ("text/html, application/json;q=0.1", True),
        ("application/json;q=0", False),
        ("*/*", False),  # a browser's catch-all is not a request for JSON
        ("text/html", False),
        ("text/event-stream", False),
    ],
)
def test_accepts_json_only_for_a_json_type_listed_by_name(accept: str, json: bool) -> None:
    assert accepts_json(accept) is json


def test_a_subscription_is_recognised() -> None:
    assert is_subscription(SUBSCRIBE, None, max_tokens=100)


def test_queries_and_non_documents_are_not_subscriptions() -> None:
    assert not is_subscription(QUERY, None, max_tokens=100)
    assert not is_subscription(None, None, max_tokens=100)
    assert not is_subscription(b"subscription", None, max_tokens=100)
    assert not is_subscription("subscription {", None, max_tokens=100)  # does not parse


def test_the_operation_name_picks_among_several() -> None:
    both = f"{QUERY} {SUBSCRIBE}"
    assert is_subscription(both, "S", max_tokens=100)
    assert not is_subscription(both, "Q", max_tokens=100)
    assert not is_subscription(both, None, max_tokens=100)  # ambiguous: the ordinary path says so
    assert not is_subscription(both, "Missing", max_tokens=100)


def test_a_document_past_the_token_limit_is_not_parsed_as_a_subscription() -> None:
    assert is_subscription(SUBSCRIBE, None, max_tokens=20)
    assert not is_subscription(SUBSCRIBE, None, max_tokens=5)


@pytest.mark.parametrize(
    ("response", "request_error"),
    [
        ({"data": None, "errors": [{"message": "Syntax Error"}]}, True),
        ({"errors": [{"message": "Unknown field"}]}, True),
        ({"data": None, "errors": [{"message": "boom", "path": ["me"]}]}, False),
        ({"data": {"me": None}, "errors": [{"message": "x"}]}, False),
        ({"data": None, "errors": []}, False),
        ({"data": None}, False),
        ([{"message": "x"}], False),
        ({"errors": ["text"]}, False),
    ],
)
def test_a_request_error_is_one_without_data_whose_errors_have_no_path(
    response: object, request_error: bool
) -> None:
    assert is_request_error(response) is request_error
