"""GraphQL over HTTP requests: which operation they run and which media type they want."""

from __future__ import annotations

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def is_subscription(query: object, operation_name: object, *, max_tokens: int) -> bool:
    """Whether the operation that would run is a subscription (False when it won't parse).

    Parsed with the token limit: a body of a megabyte took seconds of the event loop.
    """
    if not isinstance(query, str) or "subscription" not in query:
        return False
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return False  # the ordinary path reports the syntax error or the token limit
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if isinstance(operation_name, str):
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return len(operations) == 1 and operations[0].operation is OperationType.SUBSCRIPTION


def media_qualities(accept: str) -> dict[str, float]:
    """Each media type an `Accept` header lists, with its quality (`q`, 1 when not given)."""
    qualities: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        qualities[media] = max(qualities.get(media, 0.0), q)
    return qualities


def prefers_graphql_response_json(accept: str) -> bool:
    """Whether `Accept` ranks the GraphQL response media type at least as high as JSON."""
    quality = media_qualities(accept)
    wanted = quality.get(GRAPHQL_RESPONSE_JSON, 0.0)
    return wanted > 0 and wanted >= quality.get("application/json", 0.0)


def accepts_json(accept: str) -> bool:
    """Whether `Accept` lists a JSON reply type (not merely `*/*`) with a quality above 0."""
    quality = media_qualities(accept)
    return any(quality.get(media, 0.0) > 0 for media in ("application/json", GRAPHQL_RESPONSE_JSON))


def is_request_error(response: object) -> bool:
    """A reply whose operation never ran: the document did not parse or validate, or its
    variables did not coerce. Field errors carry a `path`; these do not."""
    if not isinstance(response, dict) or response.get("data") is not None:
        return False
    errors = response.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(e, dict) and "path" not in e for e in errors)
