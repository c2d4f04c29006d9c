"""What one server instance reports about its live connections."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class InstanceSnapshot:
    id: str
    started_at: datetime
    connections: int = 0
    subscriptions: int = 0
    # room -> user id -> number of that user's subscriptions in the room
    rooms: dict[str, dict[str, int]] = field(default_factory=dict)
    # user id -> open connections
    users: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at.isoformat(),
            "connections": self.connections,
            "subscriptions": self.subscriptions,
            "rooms": self.rooms,
            "users": self.users,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceSnapshot:
        return cls(
            id=str(data["id"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            connections=int(data["connections"]),
            subscriptions=int(data["subscriptions"]),
            rooms={
                str(r): {str(u): int(n) for u, n in us.items()} for r, us in data["rooms"].items()
            },
            users={str(u): int(n) for u, n in data["users"].items()},
        )
