"""The graphql-core 3.3 subscription leak work-around, on graphql-core's own executor."""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult, build_schema, execute_subscription_event, parse
from graphql.execution.executor import Executor

from graph.execution import per_event_executor

SCHEMA = build_schema("""
type Query { noop: String }
type Task { id: ID!  owner: User! }
type User { id: ID! }
type Event { cursor: String!  task: Task! }
type Subscription { event: Event! }
""")
DOCUMENT = parse("subscription { event { cursor task { id owner { id } } } }")


def subscription_executor() -> Executor[Any]:
    executor = Executor.build(SCHEMA, DOCUMENT)
    assert isinstance(executor, Executor), executor
    return executor


def payload(n: int) -> dict[str, object]:
    return {"event": {"cursor": str(n), "task": {"id": f"t{n}", "owner": {"id": "u"}}}}


def test_install_patches_once_and_says_so() -> None:
    assert per_event_executor.install() is True
    patched = Executor.build_per_event_executor
    assert per_event_executor.install() is True
    assert Executor.build_per_event_executor is patched  # not wrapped twice


def test_each_event_gets_a_fresh_memo_of_its_own() -> None:
    per_event_executor.install()
    executor = subscription_executor()
    first = executor.build_per_event_executor(payload(1))
    second = executor.build_per_event_executor(payload(2))
    assert first._relevant_sub_fields is not executor._relevant_sub_fields
    assert second._relevant_sub_fields is not first._relevant_sub_fields
    assert first._relevant_sub_fields == {}
    assert first.root_value == payload(1)  # the rest of the copy is graphql-core's


def test_the_subscription_executor_does_not_grow_with_events() -> None:
    per_event_executor.install()
    executor = subscription_executor()
    for n in range(200):
        per_event = executor.build_per_event_executor(payload(n))
        result = execute_subscription_event(per_event)
        assert isinstance(result, ExecutionResult)  # synchronous resolvers: no awaitable
        assert result == ExecutionResult(data=payload(n), errors=None)
        # The memo still serves its purpose within the event...
        assert len(per_event._relevant_sub_fields) >= 2
    # ...but nothing accumulates on the executor that lives as long as the subscription
    # (unpatched, it would hold 3 entries per event here: 600 after 200 events).
    assert executor._relevant_sub_fields == {}
