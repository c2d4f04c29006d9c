"""Opaque cursors: task pages (created_at, id) and event positions (project, seq)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from graph.errors import BadUserInput


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
    except ValueError as exc:
        raise BadUserInput("malformed cursor", field=field) from exc
    if created_at.tzinfo is None:
        raise BadUserInput("malformed cursor", field=field)
    return created_at, parts[2]


def encode_event_cursor(project_id: str, seq: int) -> str:
    return _encode(f"e|{project_id}|{seq}")


def decode_event_cursor(value: str, *, project_id: str, field: str = "after") -> int:
    """The sequence number in an event cursor, which must belong to `project_id`."""
    parts = _decode(value, field=field).split("|")
    if len(parts) != 3 or parts[0] != "e" or not parts[2].isdigit():
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
