"""The live layer's front door: publishing events and answering presence questions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from graph.realtime.records import EventRecord
from graph.realtime.snapshot import InstanceSnapshot

log = logging.getLogger(__name__)


class RealtimeHub:
    """Publishes committed events and knows who is subscribed where.

    Until the live layer is wired in, publishing is a no-op and presence is empty.
    """

    def __init__(self) -> None:
        self.published = 0
        self.instance_id = uuid.uuid4().hex[:12]
        self.started_at = datetime.now(UTC)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, records: Sequence[EventRecord]) -> None:
        self.published += len(records)

    async def membership_changed(self, project_id: str, user_id: str) -> None:
        return None

    async def viewers(self, room: str) -> list[str]:
        return []

    async def ready(self) -> bool:
        return True

    async def instances(self) -> list[InstanceSnapshot]:
        return [InstanceSnapshot(id=self.instance_id, started_at=self.started_at)]

    def metrics_text(self) -> str:
        return f"tasklive_events_published_total {self.published}\n"
