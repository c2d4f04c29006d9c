"""Requests refused before any GraphQL runs (not JSON, wrong method, too large), answered as
GraphQL responses all the same: an `errors` list whose error carries `extensions.code`."""

from __future__ import annotations

from starlette.responses import Response

from graph.execution.encoding import dumps

CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}


def refusal(
    status: int,
    message: str,
    *,
    media_type: str | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> Response:
    """A GraphQL response with one error, in `media_type` (by default `application/json`)."""
    code = CODES.get(status, "BAD_REQUEST")
    body = {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}
    return Response(
        dumps(body),
        status_code=status,
        media_type=f"{media_type or 'application/json'}; charset=utf-8",
        headers=headers,
    )
