"""EventRecord: one event-log row as it travels from the database to subscribers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from db.models import MEMBERSHIP_EVENT_TYPES, EventType, ProjectRole, TaskEvent


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A task change (task_id, task_state) or a membership change (member_id, member_role)."""

    project_id: str
    seq: int
    task_id: str | None
    type: EventType
    actor_id: str
    occurred_at: datetime
    changed_fields: tuple[str, ...] = ()
    previous_status: str | None = None
    task_state: dict[str, Any] | None = None
    member_id: str | None = None
    member_role: ProjectRole | None = None

    @property
    def is_membership(self) -> bool:
        """Membership changes sequence the log like task events but reach no task consumer."""
        return self.type in MEMBERSHIP_EVENT_TYPES

    @property
    def subject(self) -> str | None:
        """Whom or what the event is about: the member, else the task."""
        return self.member_id if self.is_membership else self.task_id

    @classmethod
    def from_model(cls, row: TaskEvent) -> EventRecord:
        return cls(
            project_id=row.project_id,
            seq=row.seq,
            task_id=row.task_id,
            type=row.type,
            actor_id=row.actor_id,
            occurred_at=row.occurred_at,
            changed_fields=tuple(row.changed_fields or ()),
            previous_status=row.previous_status.value if row.previous_status else None,
            task_state=dict(row.task_state) if row.task_state is not None else None,
            member_id=row.member_id,
            member_role=row.member_role,
        )

    def to_json(self) -> str:
        """The broadcast message: a `str`, which every broadcaster backend accepts."""
        return orjson.dumps(
            {
                "k": "e",
                "p": self.project_id,
                "s": self.seq,
                "t": self.task_id,
                "y": self.type.value,
                "a": self.actor_id,
                "o": self.occurred_at.isoformat(),
                "c": list(self.changed_fields),
                "v": self.previous_status,
                "x": self.task_state,
                "m": self.member_id,
                "r": self.member_role.value if self.member_role else None,
            }
        ).decode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventRecord:
        role = data.get("r")
        return cls(
            project_id=data["p"],
            seq=int(data["s"]),
            task_id=data["t"],
            type=EventType(data["y"]),
            actor_id=data["a"],
            occurred_at=datetime.fromisoformat(data["o"]),
            changed_fields=tuple(data["c"]),
            previous_status=data["v"],
            task_state=data["x"],
            member_id=data.get("m"),
            member_role=ProjectRole(role) if role else None,
        )
