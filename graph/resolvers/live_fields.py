"""One declaration per live subscription field: its room, the events it carries, how it ends.

A live field follows one room of the event log (a task's or a project's) and delivers task
events to its subscribers, with `after` to resume. Everything that treats live fields alike
reads the declarations here: the resolvers locate the room and translate records
(graph/resolvers/subscriptions.py), the schema names its fields after them
(graph/schema/root.py), the planner serves exactly them on the shared-execution path
(graph/ws/plans.py), and the groups build each event's root from them (graph/ws/groups.py).

`check_schema` holds the schema to the declarations at start-up: a subscription field that
delivers task events without a declaration would silently run on the slow path.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from strawberry.types.base import get_object_definition

from db.models import EventType
from graph.errors import NotFound
from graph.realtime.records import EventRecord
from graph.realtime.rooms import project_room, task_room
from graph.schema.events import (
    TaskCreatedEvent,
    TaskDeletedEvent,
    TaskEvent,
    TaskUpdatedEvent,
    event_from_record,
)

EventT = TypeVar("EventT", bound=TaskEvent)


class RoomKind(enum.Enum):
    """The room a live field follows; the value is the argument that names its object."""

    TASK = "taskId"
    PROJECT = "projectId"

    @property
    def argument(self) -> str:
        return self.value

    def room(self, object_id: str) -> str:
        return task_room(object_id) if self is RoomKind.TASK else project_room(object_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveField(Generic[EventT]):
    """A live subscription field: its GraphQL name and what its subscribers receive."""

    name: str
    room: RoomKind
    event_type: type[EventT]  # what the field yields; the TaskEvent interface for every kind
    types: frozenset[EventType] | None  # the event types it carries; None for every task event
    ends_on_delete: bool = False  # the deletion of its task ends it with NOT_FOUND
    only: Callable[[EventRecord], bool] | None = None  # a finer filter than the event types

    def __post_init__(self) -> None:
        carries_deletes = self.types is None or EventType.DELETED in self.types
        if self.ends_on_delete and (self.room is not RoomKind.TASK or not carries_deletes):
            raise ValueError(f"{self.name}: only a task room carrying DELETED can end on delete")

    def carries(self, record: EventRecord) -> bool:
        return (
            not record.is_membership
            and (self.types is None or record.type in self.types)
            and (self.only is None or self.only(record))
        )

    def root(self, record: EventRecord) -> EventT | NotFound | None:
        """The event subscribers receive, the error that ends them, or None: not this field's."""
        if not self.carries(record):
            return None
        event = event_from_record(record)
        if self.ends_on_delete and isinstance(event, TaskDeletedEvent):
            return NotFound("the task was deleted", field=self.room.argument, cursor=event.cursor)
        return event if isinstance(event, self.event_type) else None


TASK_UPDATED = LiveField(
    name="taskUpdated",
    room=RoomKind.TASK,
    event_type=TaskUpdatedEvent,
    types=frozenset({EventType.UPDATED, EventType.DELETED}),
    ends_on_delete=True,
)
TASK_CREATED = LiveField(
    name="taskCreated",
    room=RoomKind.PROJECT,
    event_type=TaskCreatedEvent,
    types=frozenset({EventType.CREATED}),
)
TASK_DELETED = LiveField(
    name="taskDeleted",
    room=RoomKind.PROJECT,
    event_type=TaskDeletedEvent,
    types=frozenset({EventType.DELETED}),
)
TASK_EVENTS = LiveField(name="taskEvents", room=RoomKind.PROJECT, event_type=TaskEvent, types=None)

LIVE_FIELDS: dict[str, LiveField[Any]] = {
    field.name: field for field in (TASK_UPDATED, TASK_CREATED, TASK_DELETED, TASK_EVENTS)
}


def delivers_task_events(schema: GraphQLSchema) -> set[str]:
    """The schema's subscription fields whose type is a task event: the live fields."""
    root = schema.subscription_type
    interface = schema.get_type(type_name(TaskEvent))
    if root is None or not isinstance(interface, GraphQLInterfaceType):
        return set()
    found = set()
    for name, field in root.fields.items():
        named = get_named_type(field.type)
        if named is interface or (
            isinstance(named, GraphQLObjectType) and interface in named.interfaces
        ):
            found.add(name)
    return found


def check_schema(schema: GraphQLSchema, declared: Iterable[LiveField[Any]] | None = None) -> None:
    """Raise unless the schema's live fields are exactly the declared ones, typed as declared."""
    fields = list(LIVE_FIELDS.values() if declared is None else declared)
    problems = [
        f"subscription field {name!r} delivers task events but has no LiveField declaration"
        for name in sorted(delivers_task_events(schema) - {f.name for f in fields})
    ]
    root = schema.subscription_type
    for field in fields:
        schema_field = root.fields.get(field.name) if root is not None else None
        if schema_field is None:
            problems.append(f"declared live field {field.name!r} is not in the schema")
            continue
        if get_named_type(schema_field.type).name != type_name(field.event_type):
            problems.append(f"{field.name!r} is declared to yield {type_name(field.event_type)}")
        argument = schema_field.args.get(field.room.argument)
        if argument is None or str(argument.type) != "ID!":
            problems.append(f"{field.name!r} needs the argument {field.room.argument}: ID!")
    if problems:
        raise RuntimeError("live fields and schema disagree: " + "; ".join(problems))


def type_name(cls: type[Any]) -> str:
    """The GraphQL name Strawberry gives a type."""
    return get_object_definition(cls, strict=True).name
