"""Logging set-up and the per-request record that ends as one access-log line."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from graph.settings import Settings


@dataclass
class RequestRecord:
    """Filled in while a request or WebSocket connection runs; logged once at its end."""

    kind: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started: float = field(default_factory=time.perf_counter)
    user: str | None = None
    operations: list[str] = field(default_factory=list)

    def add_operation(self, name: str | None) -> None:
        if len(self.operations) < 20:
            self.operations.append(name or "anonymous")

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


current_request: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "tasklive_request", default=None
)


def current_request_id() -> str | None:
    record = current_request.get()
    return record.id if record else None


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            data.update(extra)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_tasklive", False):
            root.removeHandler(old)
    handler._tasklive = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    if settings.log_sql:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
