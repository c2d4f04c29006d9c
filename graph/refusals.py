"""Requests refused before any GraphQL runs (not JSON, wrong method, too large), answered as
GraphQL responses all the same: an `errors` list whose error carries `extensions.code`."""

from __future__ import annotations

from starlette.responses import Response

from graph.jsontext import dumps

CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def refusal(
    status: int,
    message: str,
    *,
    media_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A GraphQL response with one error, in `media_type` (by default `application/json`)."""
    body = {
        "errors": [{"message": message, "extensions": {"code": CODES.get(status, "BAD_REQUEST")}}]
    }
    return Response(
        dumps(body),
        status_code=status,
        media_type=f"{media_type or 'application/json'}; charset=utf-8",
        headers=headers,
    )
