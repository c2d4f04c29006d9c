"""Requests refused before any GraphQL runs (not JSON, wrong method, too large), answered as
GraphQL responses all the same: an `errors` list whose error carries `extensions.code`."""

from __future__ import annotations

from starlette.responses import Response

from graph.errors import HTTP_REFUSAL_CODES
from graph.execution.encoding import dumps


def refusal(
    status: int,
    message: str,
    *,
    media_type: str | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> Response:
    """A GraphQL response with one error, in `media_type` (by default `application/json`)."""
    code = HTTP_REFUSAL_CODES.get(status, HTTP_REFUSAL_CODES[400])
    body = {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}
    return Response(
        dumps(body),
        status_code=status,
        media_type=f"{media_type or 'application/json'}; charset=utf-8",
        headers=headers,
    )
