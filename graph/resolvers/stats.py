"""`realtimeStats`: connections, rooms and presence of every instance (admins only)."""

from __future__ import annotations

from collections import defaultdict

from graph.auth.permissions import require_admin
from graph.context import Info
from graph.schema.stats import InstanceStats, RealtimeStats, RoomStats, UserRooms
from graph.schema.user import User


async def _users(info: Info, user_ids: list[str]) -> dict[str, User]:
    models = await info.context.loaders.user.load_many(user_ids)
    return {
        uid: User.from_model(m) if m else User.unknown(uid)
        for uid, m in zip(user_ids, models, strict=True)
    }


async def realtime_stats(info: Info) -> RealtimeStats:
    require_admin(info.context)
    instances = await info.context.services.realtime.instances()
    rooms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    connected: set[str] = set()
    for instance in instances:
        connected.update(u for u, n in instance.users.items() if n > 0)
        for room, members in instance.rooms.items():
            for user_id, count in members.items():
                rooms[room][user_id] += count
    users = await _users(info, sorted(connected | {u for m in rooms.values() for u in m}))
    # Every connected user, with the rooms they are in (none, for a socket with no subscription).
    user_rooms: dict[str, list[str]] = defaultdict(list, {u: [] for u in connected})
    for room, members in sorted(rooms.items()):
        for user_id in members:
            user_rooms[user_id].append(room)
    return RealtimeStats(
        connected_users=len(connected),
        connections=sum(i.connections for i in instances),
        subscriptions=sum(i.subscriptions for i in instances),
        total_rooms=len(rooms),
        rooms=[
            RoomStats(
                room=room,
                subscribers=sum(members.values()),
                users=[users[u] for u in sorted(members)],
            )
            for room, members in sorted(rooms.items())
        ],
        user_rooms=[UserRooms(user=users[u], rooms=r) for u, r in sorted(user_rooms.items())],
        instances=[
            InstanceStats(
                id=i.id,
                connections=i.connections,
                subscriptions=i.subscriptions,
                started_at=i.started_at,
            )
            for i in sorted(instances, key=lambda i: i.id)
        ],
    )
