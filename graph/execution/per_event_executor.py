"""Work around graphql-core 3.3's per-subscription memory growth.

Each subscription event runs on a shallow copy of the subscription's executor, which
shares `_relevant_sub_fields`: a memo keyed by `id()` of field lists that are new on every
event, so it never hits and keeps every entry for as long as the subscription lives
(about 2.8 KiB per delivered event). Giving each per-event executor its own memo keeps the
memo's benefit within an event and frees it afterwards.
"""

from __future__ import annotations

from typing import Any

from graphql.execution import executor as executor_module

_MARK = "_tasklive_leak_fixed"


def install() -> bool:
    """Patch `Executor.build_per_event_executor` once; False when it is not there to patch."""
    cls: Any = getattr(executor_module, "Executor", None)
    original = getattr(cls, "build_per_event_executor", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    def build_per_event_executor(self: Any, payload: Any) -> Any:
        per_event = original(self, payload)
        if "_relevant_sub_fields" in vars(per_event):
            per_event._relevant_sub_fields = {}
        return per_event

    setattr(build_per_event_executor, _MARK, True)
    cls.build_per_event_executor = build_per_event_executor
    return True
