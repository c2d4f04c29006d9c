"""Opaque cursors (graph/resolvers/inputs.py): task pages and event positions, and the
malformed or foreign ones a client may send back."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from graph.errors import BadUserInput
from graph.resolvers.inputs import (
    MAX_SEQ,
    decode_event_cursor,
    decode_task_cursor,
    encode_event_cursor,
    encode_task_cursor,
)

PROJECT = str(uuid.uuid4())
TASK = str(uuid.uuid4())


def raw(text: str) -> str:
    """A cursor made by hand: what a client could forge."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def malformed_task(value: str, field: str = "after") -> BadUserInput:
    with pytest.raises(BadUserInput) as caught:
        decode_task_cursor(value, field=field)
    return caught.value


def malformed_event(value: str, *, project_id: str = PROJECT) -> BadUserInput:
    with pytest.raises(BadUserInput) as caught:
        decode_event_cursor(value, project_id=project_id)
    return caught.value


def test_a_task_cursor_round_trips() -> None:
    created = datetime(2026, 11, 30, 7, 5, 3, 123456, tzinfo=UTC)
    cursor = encode_task_cursor(created, TASK)
    assert decode_task_cursor(cursor) == (created, TASK)


def test_a_task_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_task_cursor(datetime.now(UTC), TASK)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor


def test_a_task_cursor_in_another_offset_decodes_to_utc() -> None:
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    created, _ = decode_task_cursor(raw(f"t|{local.isoformat()}|{TASK}"))
    assert created == local and created.tzinfo == UTC and created.hour == 7


@pytest.mark.parametrize(
    "text",
    [
        f"e|2026-01-01T00:00:00+00:00|{TASK}",  # an event cursor
        "t|2026-01-01T00:00:00+00:00",  # two parts
        f"t|2026-01-01T00:00:00+00:00|{TASK}|x",  # four parts
        f"t|yesterday|{TASK}",  # not a date
        "t|2026-01-01T00:00:00+00:00|not-a-uuid",
        f"t|2026-01-01T00:00:00|{TASK}",  # no time zone
        f"t|0001-01-01T00:00:00+05:00|{TASK}",  # before year 1 in UTC
    ],
)
def test_a_forged_task_cursor_is_malformed(text: str) -> None:
    error = malformed_task(raw(text))
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "after"}
    assert str(error) == "malformed cursor"


# Empty, not base64, longer than any cursor, and base64 of bytes that are not UTF-8.
NOT_CURSORS = ["", "!!!!", "x" * 201, base64.urlsafe_b64encode(b"\xff\xfe").decode()]


@pytest.mark.parametrize("value", NOT_CURSORS)
def test_a_task_cursor_that_is_not_base64_text_is_malformed(value: str) -> None:
    malformed_task(value)


def test_a_task_cursor_error_names_the_field_it_came_in() -> None:
    assert malformed_task("", field="input.after").extensions["field"] == "input.after"


def test_an_event_cursor_round_trips() -> None:
    assert decode_event_cursor(encode_event_cursor(PROJECT, 42), project_id=PROJECT) == 42
    assert decode_event_cursor(encode_event_cursor(PROJECT, 0), project_id=PROJECT) == 0
    assert decode_event_cursor(encode_event_cursor(PROJECT, MAX_SEQ), project_id=PROJECT) == MAX_SEQ


def test_event_cursors_sort_by_sequence_only_through_decoding() -> None:
    # Opaque to clients: two cursors of one project decode to increasing numbers.
    first, later = encode_event_cursor(PROJECT, 9), encode_event_cursor(PROJECT, 10)
    assert decode_event_cursor(first, project_id=PROJECT) < decode_event_cursor(
        later, project_id=PROJECT
    )


def test_an_event_cursor_of_another_project_is_refused_as_such() -> None:
    error = malformed_event(encode_event_cursor(str(uuid.uuid4()), 3))
    assert str(error) == "cursor belongs to another project"
    assert error.extensions["field"] == "after"


@pytest.mark.parametrize(
    "text",
    [
        f"t|{PROJECT}|3",  # a task cursor's kind
        f"e|{PROJECT}",
        f"e|{PROJECT}|-1",
        f"e|{PROJECT}|3.5",
        f"e|{PROJECT}|",
        f"e|{PROJECT}|²",  # a digit to isdigit(), not to int()
        f"e|{PROJECT}|٣",  # an Arabic-Indic three: not ASCII
        f"e|{PROJECT}|{MAX_SEQ + 1}",  # past a BIGINT
    ],
)
def test_a_forged_event_cursor_is_malformed(text: str) -> None:
    assert str(malformed_event(raw(text))) == "malformed cursor"


def test_a_task_cursor_is_no_event_cursor() -> None:
    malformed_event(encode_task_cursor(datetime.now(UTC), TASK))
