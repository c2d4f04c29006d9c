"""Every domain exception and error code, in one place.

A `TaskliveError` becomes a GraphQL error carrying `extensions.code`; the others end a
start-up or a broker connection.
"""

from __future__ import annotations

from typing import Any

# Codes given to errors that are not a TaskliveError of ours.
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"  # unexpected; masked, carries the request id
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"

# Requests refused before any GraphQL runs, by HTTP status (graph/http/refusals.py).
HTTP_REFUSAL_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}


class TaskliveError(Exception):
    code = INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}


class Unauthenticated(TaskliveError):
    code = "UNAUTHENTICATED"


class Forbidden(TaskliveError):
    code = "FORBIDDEN"


class NotFound(TaskliveError):
    code = "NOT_FOUND"


class BadUserInput(TaskliveError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str, **extensions: Any) -> None:
        super().__init__(message, field=field, **extensions)


class Conflict(TaskliveError):
    code = "CONFLICT"

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message, currentVersion=current_version)


class RateLimited(TaskliveError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retryAfter=round(retry_after, 3))


class CursorExpired(TaskliveError):
    code = "CURSOR_EXPIRED"


class QueryTooComplex(TaskliveError):
    """A document over one of the query limits, refused before validation and execution."""

    code = "QUERY_TOO_COMPLEX"

    def __init__(self, message: str, *, limit: str, maximum: int, actual: int | None) -> None:
        figures: dict[str, Any] = {"limit": limit, "maximum": maximum}
        if actual is not None:
            figures["actual"] = actual
        super().__init__(message, **figures)


class LimitExceeded(TaskliveError):
    """A per-connection limit (`limit` names it, `maximum` its value) refused a request."""

    code = "LIMIT_EXCEEDED"

    def __init__(self, message: str, *, limit: str, maximum: int) -> None:
        super().__init__(message, limit=limit, maximum=maximum)


class SchemaBehind(RuntimeError):
    """The database's schema is older than this version needs (and is not SQLite, which is
    migrated in place): the operator must run `tasklive migrate`."""


class SlowConsumer(TaskliveError):
    """A subscriber whose queue overflowed: its subscription ends, and it resumes by cursor."""

    code = "SLOW_CONSUMER"

    def __init__(
        self, message: str = "the subscriber fell too far behind; reconnect and resume"
    ) -> None:
        super().__init__(message)


class BrokerUnavailable(RuntimeError):
    """The broadcaster (Redis) is not connected, or its own heartbeat did not come back."""
