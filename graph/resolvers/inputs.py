"""The input rules: client ids, text, titles and descriptions checked before they reach the
database, and the opaque cursors (task pages: created_at, id; event positions: project, seq)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime

from graph.errors import BadUserInput

MAX_SEQ = 2**63 - 1
MAX_USER_ID = 255


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(value: str, *, field: str) -> str:
    if not value or len(value) > 200:
        raise BadUserInput("malformed cursor", field=field)
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput("malformed cursor", field=field) from exc


def encode_task_cursor(created_at: datetime, task_id: str) -> str:
    return _encode(f"t|{created_at.isoformat()}|{task_id}")


def decode_task_cursor(value: str, *, field: str = "after") -> tuple[datetime, str]:
    parts = _decode(value, field=field).split("|")
    if len(parts) != 3 or parts[0] != "t":
        raise BadUserInput("malformed cursor", field=field)
    try:
        created_at = datetime.fromisoformat(parts[1])
        uuid.UUID(parts[2])
        # Converting now, not in the query, so that an offset past year 1 or 9999 is refused here.
        created_at = created_at.astimezone(UTC) if created_at.tzinfo else created_at
    except (ValueError, OverflowError) as exc:
        raise BadUserInput("malformed cursor", field=field) from exc
    if created_at.tzinfo is None:
        raise BadUserInput("malformed cursor", field=field)
    return created_at, parts[2]


def encode_event_cursor(project_id: str, seq: int) -> str:
    return _encode(f"e|{project_id}|{seq}")


def decode_event_cursor(value: str, *, project_id: str, field: str = "after") -> int:
    """The sequence number in an event cursor, which must belong to `project_id`."""
    parts = _decode(value, field=field).split("|")
    # isdigit() alone accepts digits such as "²" that int() refuses; a seq is a BIGINT.
    if (
        len(parts) != 3
        or parts[0] != "e"
        or not (parts[2].isascii() and parts[2].isdigit())
        or int(parts[2]) > MAX_SEQ
    ):
        raise BadUserInput("malformed cursor", field=field)
    if parts[1] != project_id:
        raise BadUserInput("cursor belongs to another project", field=field)
    return int(parts[2])


def parse_uuid(value: str, *, field: str) -> str:
    """Ids of projects and tasks are UUIDs; anything else is a client error."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError) as exc:
        raise BadUserInput(f"`{field}` is not a valid id", field=field) from exc


def check_text(value: str, *, field: str) -> str:
    """Text the databases can store: no NUL (PostgreSQL refuses it) and no lone surrogates."""
    if "\x00" in value:
        raise BadUserInput(f"`{field}` must not contain NUL characters", field=field)
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise BadUserInput(f"`{field}` is not valid Unicode text", field=field) from exc
    return value


def parse_user_id(value: str, *, field: str) -> str:
    """User ids are the `sub` of tokens: 1 to 255 characters of text."""
    if not 1 <= len(value) <= MAX_USER_ID:
        raise BadUserInput(f"`{field}` is not a valid user id", field=field)
    return check_text(value, field=field)


MAX_TITLE = 200
MAX_DESCRIPTION = 10_000


def clean_title(value: str, *, field: str) -> str:
    title = value.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise BadUserInput(f"title must be 1 to {MAX_TITLE} characters", field=field)
    return check_text(title, field=field)


def clean_description(value: str | None, *, field: str) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_DESCRIPTION:
        raise BadUserInput(f"description must be at most {MAX_DESCRIPTION} characters", field=field)
    return check_text(value, field=field)
