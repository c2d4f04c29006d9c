"""The checks graph/ws/ makes of incoming WebSocket messages before Strawberry sees them, and
the frames and close reasons it sends back."""

from __future__ import annotations

import struct

import orjson
import pytest
from graphql import GraphQLError, parse

from graph.errors import Forbidden
from graph.ws.frames import text_frame
from graph.ws.groups import error_payload
from graph.ws.plans import selects_viewer_dependent_fields
from graph.ws.transport import (
    MAX_CLOSE_REASON_BYTES,
    close_reason,
    is_malformed,
    is_operation_payload,
    subscription_limit_error,
)


@pytest.mark.parametrize(
    "message",
    [
        [],
        5,
        None,
        "subscribe",
        {"type": ["subscribe"], "id": "1"},
        {"type": {"t": 1}, "id": "1"},
        {"type": "subscribe", "id": ["1"]},
        {"type": "subscribe", "id": {"x": 1}},
    ],
)
def test_a_message_that_would_crash_the_dispatch_is_malformed(message: object) -> None:
    assert is_malformed(message)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "connection_init"},
        {"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }"}},
        {"type": "complete", "id": 7},  # a scalar id is left to the protocol
        {"type": "unknown"},  # an unknown type is the protocol's 4400, with its reason
        {},
    ],
)
def test_an_object_with_scalar_type_and_id_is_left_to_the_protocol(message: object) -> None:
    assert not is_malformed(message)


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "{ me { id } }"},
        {"query": "{ me { id } }", "variables": {"a": 1}, "operationName": "Q", "extensions": {}},
        {"query": "", "variables": None, "operationName": None, "extensions": None},
    ],
)
def test_an_operation_payload_has_a_string_query_and_well_typed_extras(payload: object) -> None:
    assert is_operation_payload(payload)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "{ me { id } }",
        {},
        {"query": 5},
        {"query": None},
        {"query": "{ me { id } }", "variables": ["a"]},
        {"query": "{ me { id } }", "variables": "a=1"},
        {"query": "{ me { id } }", "operationName": 3},
        {"query": "{ me { id } }", "extensions": ["x"]},
    ],
)
def test_an_operation_payload_of_another_shape_is_refused(payload: object) -> None:
    assert not is_operation_payload(payload)


def test_a_short_close_reason_is_kept() -> None:
    assert close_reason("Forbidden") == "Forbidden"


def test_a_long_close_reason_is_cut_to_fit_a_close_frame() -> None:
    reason = close_reason("Subscriber for " + "x" * 300 + " already exists")
    assert len(reason.encode()) == MAX_CLOSE_REASON_BYTES
    assert reason.endswith("...")


def test_a_close_reason_is_cut_on_a_character_boundary() -> None:
    reason = close_reason("é" * 100)  # two bytes each
    data = reason.encode()
    assert len(data) <= MAX_CLOSE_REASON_BYTES
    assert reason.startswith("é" * 60) and reason.endswith("...")


def test_a_lone_surrogate_in_a_close_reason_becomes_a_question_mark() -> None:
    assert close_reason("id \ud800 reused") == "id ? reused"


@pytest.mark.parametrize(
    ("query", "dependent"),
    [
        ("subscription { taskCreated(projectId: 1) { task { createdBy { email } } } }", True),
        ("subscription { taskCreated(projectId: 1) { createdBy { id name } } }", False),
        (
            "subscription { taskEvents(projectId: 1) { ... on TaskCreatedEvent { createdBy "
            "{ email } } } }",
            True,
        ),
        ("subscription { taskEvents(projectId: 1) { cursor } }", False),
    ],
)
def test_a_document_selecting_email_cannot_share_one_rendering(query: str, dependent: bool) -> None:
    assert selects_viewer_dependent_fields(parse(query)) is dependent


def test_the_subscription_limit_error_names_the_limit() -> None:
    assert subscription_limit_error(3) == {
        "message": "Subscription limit reached",
        "extensions": {
            "code": "LIMIT_EXCEEDED",
            "limit": "subscriptions_per_connection",
            "maximum": 3,
        },
    }


@pytest.mark.parametrize(("size", "header"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_a_text_frame_uses_the_shortest_length_encoding(size: int, header: int) -> None:
    frame = text_frame(b"x" * size)
    assert frame[0] == 0x81  # FIN and text, unmasked as a server's frames are
    assert len(frame) == header + size
    if header == 2:
        assert frame[1] == size
    elif header == 4:
        assert frame[1] == 126 and struct.unpack("!H", frame[2:4])[0] == size
    else:
        assert frame[1] == 127 and struct.unpack("!Q", frame[2:10])[0] == size


def test_an_event_error_keeps_domain_errors_and_masks_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    domain = Forbidden("no")
    errors = [
        GraphQLError("no", original_error=domain, extensions=domain.extensions),
        GraphQLError("bad input"),
        GraphQLError("secret detail", original_error=RuntimeError("db password in here")),
    ]
    body = orjson.loads(error_payload(errors))
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["no", "bad input", "Internal server error"]
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert body["errors"][2]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "-"}
    assert "db password" not in str(body)
    assert "unexpected error in a subscription event" in caplog.text
