"""graph/resolvers/live_fields.py: every live subscription field is declared, and the
declarations are what the schema, the planner and the shared execution serve."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import pytest
import strawberry
from graphql import GraphQLSchema, get_named_type, is_non_null_type

from db.models import EventType
from graph.errors import NotFound
from graph.realtime.records import EventRecord
from graph.realtime.rooms import project_room, task_room
from graph.resolvers.live_fields import (
    LIVE_FIELDS,
    TASK_UPDATED,
    LiveField,
    RoomKind,
    check_schema,
    delivers_task_events,
)
from graph.schema.events import TaskEvent, TaskUpdatedEvent
from graph.schema.root import Query, Subscription, build_schema
from graph.settings import Settings
from graph.ws.plans import Planner

PROJECT = "8f9e2c4a-55b1-4c1e-9d3f-0a6b7c8d9e01"
TASK = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
SETTINGS = Settings(jwt_secret="x" * 32, tasklive_env="test")
TASK_TYPES = (EventType.CREATED, EventType.UPDATED, EventType.DELETED)
FIELDS_OF_THE_CONTRACT = ("taskUpdated", "taskCreated", "taskDeleted", "taskEvents")


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(SETTINGS)._schema


def record(kind: EventType, *, changed: tuple[str, ...] = ()) -> EventRecord:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    membership = kind not in TASK_TYPES
    state = {
        "id": TASK,
        "title": "t",
        "description": None,
        "status": "PENDING",
        "created_at": at.isoformat(),
        "updated_at": at.isoformat(),
        "version": 1,
        "project_id": PROJECT,
        "assignee_id": None,
        "created_by_id": "alice",
    }
    return EventRecord(
        project_id=PROJECT,
        seq=7,
        task_id=None if membership else TASK,
        type=kind,
        actor_id="alice",
        occurred_at=at,
        changed_fields=changed,
        task_state=None if membership else state,
        member_id="bob" if membership else None,
    )


def subscribe_document(schema: GraphQLSchema, name: str) -> str:
    """The smallest subscribe document for a field: its required arguments as variables."""
    assert schema.subscription_type is not None
    field = schema.subscription_type.fields[name]
    required = {a: str(arg.type) for a, arg in field.args.items() if is_non_null_type(arg.type)}
    variables = ", ".join(f"${a}: {t}" for a, t in required.items())
    arguments = ", ".join(f"{a}: ${a}" for a in required)
    return (
        f"subscription{f'({variables})' if variables else ''} "
        f"{{ {name}{f'({arguments})' if arguments else ''} {{ __typename }} }}"
    )


def test_every_live_subscription_field_of_the_schema_has_a_declaration(
    schema: GraphQLSchema,
) -> None:
    live = delivers_task_events(schema)
    assert set(FIELDS_OF_THE_CONTRACT) <= live
    assert live == set(LIVE_FIELDS)
    assert "viewersChanged" not in live  # presence, not the event log
    check_schema(schema)


def test_the_planner_serves_exactly_the_declared_fields(schema: GraphQLSchema) -> None:
    planner = Planner(schema, SETTINGS)
    assert schema.subscription_type is not None
    served = {}
    for name in schema.subscription_type.fields:
        plan = planner.plan(subscribe_document(schema, name), None)
        if plan is not None:
            served[name] = plan.live
    assert served == LIVE_FIELDS


def test_a_subscription_of_task_events_without_a_declaration_is_refused() -> None:
    @strawberry.type
    class Extended(Subscription):
        @strawberry.subscription
        async def task_touched(
            self, project_id: strawberry.ID
        ) -> AsyncGenerator[TaskUpdatedEvent, None]:
            yield  # type: ignore[misc]  # never run: the schema is only checked

    extended = strawberry.Schema(query=Query, subscription=Extended)._schema
    assert "taskTouched" in delivers_task_events(extended)
    with pytest.raises(RuntimeError, match="'taskTouched' delivers task events but has no"):
        check_schema(extended)


def test_a_declaration_the_schema_does_not_follow_is_refused(schema: GraphQLSchema) -> None:
    missing = LiveField(
        name="taskTouched", room=RoomKind.PROJECT, event_type=TaskUpdatedEvent, types=None
    )
    with pytest.raises(RuntimeError, match="'taskTouched' is not in the schema"):
        check_schema(schema, [*LIVE_FIELDS.values(), missing])
    mistyped = LiveField(
        name="taskCreated", room=RoomKind.PROJECT, event_type=TaskUpdatedEvent, types=None
    )
    with pytest.raises(RuntimeError, match="'taskCreated' is declared to yield TaskUpdatedEvent"):
        check_schema(
            schema, [*(f for f in LIVE_FIELDS.values() if f.name != "taskCreated"), mistyped]
        )
    wrong_room = LiveField(name="taskEvents", room=RoomKind.TASK, event_type=TaskEvent, types=None)
    with pytest.raises(RuntimeError, match="'taskEvents' needs the argument taskId: ID!"):
        check_schema(
            schema, [*(f for f in LIVE_FIELDS.values() if f.name != "taskEvents"), wrong_room]
        )


def test_each_declared_field_takes_its_rooms_argument_and_yields_its_type(
    schema: GraphQLSchema,
) -> None:
    assert schema.subscription_type is not None
    for name, live in LIVE_FIELDS.items():
        field = schema.subscription_type.fields[name]
        assert str(field.args[live.room.argument].type) == "ID!"
        assert get_named_type(field.type).name == live.event_type.__name__


@pytest.mark.parametrize("live", LIVE_FIELDS.values(), ids=LIVE_FIELDS.keys())
@pytest.mark.parametrize("kind", list(EventType))
def test_a_declared_field_yields_its_event_type_for_exactly_the_types_it_carries(
    live: LiveField[TaskEvent], kind: EventType
) -> None:
    root = live.root(record(kind))
    in_types = kind in TASK_TYPES and (live.types is None or kind in live.types)
    if not live.carries(record(kind)):
        assert root is None
        assert not in_types or live.only is not None  # a finer filter may drop some
    elif live.ends_on_delete and kind is EventType.DELETED:
        assert in_types and isinstance(root, NotFound)
    else:
        assert in_types and isinstance(root, live.event_type)


def test_the_declared_rooms_and_event_types() -> None:
    carried = {name: LIVE_FIELDS[name].types for name in FIELDS_OF_THE_CONTRACT}
    assert carried == {
        "taskUpdated": {EventType.UPDATED, EventType.DELETED},
        "taskCreated": {EventType.CREATED},
        "taskDeleted": {EventType.DELETED},
        "taskEvents": None,
    }
    rooms = {name: LIVE_FIELDS[name].room for name in FIELDS_OF_THE_CONTRACT}
    assert rooms == {name: RoomKind.PROJECT for name in FIELDS_OF_THE_CONTRACT} | {
        "taskUpdated": RoomKind.TASK
    }
    ending = {name for name in FIELDS_OF_THE_CONTRACT if LIVE_FIELDS[name].ends_on_delete}
    assert ending == {"taskUpdated"}


def test_a_deletion_ends_task_updated_with_not_found_and_its_cursor() -> None:
    ending = TASK_UPDATED.root(record(EventType.DELETED))
    assert isinstance(ending, NotFound)
    assert ending.extensions["code"] == "NOT_FOUND"
    assert ending.extensions["field"] == "taskId"
    assert ending.extensions["cursor"]


def test_rooms_are_named_by_the_room_functions() -> None:
    assert RoomKind.TASK.room(TASK) == task_room(TASK) == f"task:{TASK}"
    assert RoomKind.PROJECT.room(PROJECT) == project_room(PROJECT) == f"project:{PROJECT}"
    assert (RoomKind.TASK.argument, RoomKind.PROJECT.argument) == ("taskId", "projectId")


def test_only_a_task_room_that_carries_deletions_can_end_on_delete() -> None:
    with pytest.raises(ValueError, match="taskDeleted"):
        LiveField(
            name="taskDeleted",
            room=RoomKind.PROJECT,
            event_type=TaskEvent,
            types=None,
            ends_on_delete=True,
        )
    with pytest.raises(ValueError, match="taskTouched"):
        LiveField(
            name="taskTouched",
            room=RoomKind.TASK,
            event_type=TaskUpdatedEvent,
            types=frozenset({EventType.UPDATED}),
            ends_on_delete=True,
        )


def test_a_finer_filter_than_the_event_types() -> None:
    assigned = LiveField(
        name="taskTouched",
        room=RoomKind.PROJECT,
        event_type=TaskUpdatedEvent,
        types=frozenset({EventType.UPDATED}),
        only=lambda r: "assignee" in r.changed_fields,
    )
    assert assigned.root(record(EventType.UPDATED, changed=("title",))) is None
    event = assigned.root(record(EventType.UPDATED, changed=("assignee",)))
    assert isinstance(event, TaskUpdatedEvent) and event.changed_fields == ["assignee"]
