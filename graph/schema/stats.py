"""Connection, room and presence figures for the whole deployment."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph.schema.user import User


@strawberry.type
class RoomStats:
    room: str = strawberry.field(description='"task:<id>" or "project:<id>"')
    subscribers: int
    users: list[User]


@strawberry.type
class UserRooms:
    user: User
    rooms: list[str]


@strawberry.type
class InstanceStats:
    id: str
    connections: int
    subscriptions: int
    started_at: datetime


@strawberry.type
class RealtimeStats:
    connected_users: int
    connections: int
    subscriptions: int
    total_rooms: int
    rooms: list[RoomStats]
    user_rooms: list[UserRooms]
    instances: list[InstanceStats]


@strawberry.type
class ViewersChangedEvent:
    room: str
    viewers: list[User]
