"""Schema extensions: error codes and masking, query limits, parse and validation caches."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from graphql.language import ArgumentNode, DocumentNode, ObjectFieldNode, Visitor, visit
from strawberry.extensions import (
    DisableIntrospection,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from graph.errors import (
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    HTTP_REFUSAL_CODES,
    INTERNAL_SERVER_ERROR,
    BadUserInput,
    QueryTooComplex,
    TaskliveError,
)
from graph.execution import query_limits
from graph.logs import current_request, current_request_id
from graph.settings import Settings

log = logging.getLogger(__name__)

_BAD_INPUT_MARKERS = (
    "cannot represent",
    "Expected value of type",
    "got invalid value",
    "does not exist in",
    "of required type",
    "was not provided",
    "is not defined by type",
    "has invalid value",
)
# "Variable '$i' has invalid value at .status: ..." names the variable and the path in it;
# "...to include required field 'title'..." or "...unknown field 'bogus'..." one more step.
_VARIABLE_ERROR = re.compile(
    r"^Variable '\$(?P<name>\w+)' (?:has|got) invalid value(?: at (?P<path>[.\[][^:\s]*))?"
)
_NAMED_FIELD = re.compile(r"include (?:required|unknown) field '(?P<field>\w+)'")
# graphql-core's words when the parser stops at `max_tokens`.
_TOO_MANY_TOKENS = "Document contains more than"


class _ArgumentPaths(Visitor):
    """Maps the source offset of every argument value to its dotted path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[tuple[int, int, str]] = []
        self._stack: list[str] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self._stack = [node.name.value]
        if node.value.loc:
            self.paths.append((node.value.loc.start, node.value.loc.end, node.name.value))

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        if node.value.loc and self._stack:
            path = f"{self._stack[0]}.{node.name.value}"
            self.paths.append((node.value.loc.start, node.value.loc.end, path))


def _field_of(error: GraphQLError, document: DocumentNode | None) -> str | None:
    message = error.message
    if message.startswith("Variable '$"):
        variable = _VARIABLE_ERROR.match(message)
        if variable is None:
            return message.split("'")[1].lstrip("$")
        named = _NAMED_FIELD.search(message, variable.end())
        return variable["name"] + (variable["path"] or "") + (f".{named['field']}" if named else "")
    if document is None or not error.nodes:
        return None
    node = error.nodes[0]
    if node.loc is None:
        return None
    finder = _ArgumentPaths()
    visit(document, finder)
    containing = [p for p in finder.paths if p[0] <= node.loc.start and node.loc.end <= p[1]]
    return min(containing, key=lambda p: p[1] - p[0])[2] if containing else None


def _is_client_error(error: GraphQLError) -> bool:
    """Whether graphql-core raised the error for the client's input, not a resolver."""
    original = error.original_error
    if original is None:
        return True
    if not isinstance(original, GraphQLError):
        return False
    # Before execution (no path) a wrapped GraphQLError is the client's fault: a variable
    # that does not coerce to its type (an unknown enum value, a too-large Int, ...). During
    # execution, graphql-core raises one of its own when a field's arguments do not coerce:
    # an explicit null in a variable with a default, passed to a non-null argument.
    return not error.path or (
        original.original_error is None and original.message.startswith("Argument '")
    )


def classify_error(error: GraphQLError, document: DocumentNode | None) -> GraphQLError:
    """The error with an `extensions.code`: a domain error keeps its own; malformed input is
    BAD_USER_INPUT naming the field; anything unexpected is logged and masked as
    INTERNAL_SERVER_ERROR carrying the request id."""
    original = error.original_error
    if isinstance(original, TaskliveError):
        return error
    if isinstance(original, InvalidOperationTypeError | CannotGetOperationTypeError):
        # An operation this transport does not run (a query over the legacy graphql-ws
        # protocol), or an operation name the document lacks: the client's request.
        error.extensions = {**(error.extensions or {}), "code": HTTP_REFUSAL_CODES[400]}
        return error
    if _is_client_error(error):
        extensions = dict(error.extensions or {})
        if "code" not in extensions:
            if error.message.startswith("Syntax Error"):
                extensions["code"] = GRAPHQL_PARSE_FAILED
            elif any(m in error.message for m in _BAD_INPUT_MARKERS):
                extensions["code"] = BadUserInput.code
                field = _field_of(error, document)
                if field:
                    extensions["field"] = field
            else:
                extensions["code"] = GRAPHQL_VALIDATION_FAILED
        error.extensions = extensions
        return error
    request_id = current_request_id() or "-"
    log.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()) or "operation",
        request_id,
        exc_info=original,
    )
    return GraphQLError(
        "Internal server error",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": INTERNAL_SERVER_ERROR, "requestId": request_id},
    )


class ErrorCodes(SchemaExtension):
    """Gives every error an `extensions.code`, and masks unexpected ones.

    Domain errors keep their code; malformed input (bad enums, wrong types) becomes
    BAD_USER_INPUT naming the field; anything unexpected becomes INTERNAL_SERVER_ERROR
    carrying the request id that the log line of its traceback carries too.
    """

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # Raised by a hook, not returned in a result: ParserCache parses in its hook, so a
            # syntax error or the token limit lands here; Strawberry reports the same object.
            if error.original_error is None:
                self.process(error)
            raise
        record = current_request.get()
        if record is not None:
            record.add_operation(self.execution_context.operation_name)
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [self.process(e) for e in errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self.process(e) for e in errors]
        yield None

    def process(self, error: GraphQLError) -> GraphQLError:
        return classify_error(error, self.execution_context.graphql_document)


class LimitedParserCache(ParserCache):
    """The parser cache, whose token limit (MAX_TOKENS) is a query limit like the others."""

    def __init__(self, *, maxsize: int, max_tokens: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        try:
            yield from super().on_parse()
        except GraphQLSyntaxError as error:
            if _TOO_MANY_TOKENS not in error.message:
                raise
            raise as_graphql_error(query_limits.too_many_tokens(self.max_tokens)) from error


class LimitedValidationCache(ValidationCache):
    """Checks the query limits in one pass over the document, then validates (through the
    cache) only a document within them: the validation rules and the execution walk every
    path, which a few fragments spreading each other can make exponential."""

    def __init__(self, *, maxsize: int, limits: query_limits.Limits) -> None:
        super().__init__(maxsize=maxsize)
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        try:
            query_limits.check(
                context.schema._schema, context.graphql_document, context.variables, self.limits
            )
        except QueryTooComplex as exc:
            context.pre_execution_errors = [as_graphql_error(exc)]
            yield
            return
        yield from super().on_validate()


def as_graphql_error(exc: QueryTooComplex) -> GraphQLError:
    return GraphQLError(str(exc), original_error=exc, extensions=exc.extensions)


def build_extensions(settings: Settings) -> list[Any]:
    """The schema's extensions, as classes or factories, from the settings."""
    limits = query_limits.Limits.from_settings(settings)
    extensions: list[Any] = [
        ErrorCodes,
        lambda: LimitedParserCache(
            maxsize=settings.document_cache_size, max_tokens=settings.max_tokens
        ),
        lambda: LimitedValidationCache(maxsize=settings.document_cache_size, limits=limits),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return extensions
