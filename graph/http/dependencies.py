"""What a FastAPI route may ask for: the app's services, the caller, a project it may see.

Everything comes from the app the request reached (`app.state.services`, set by
`create_app`), never from a module global, so two apps in one process stay apart.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from db.repositories import projects as project_repo
from db.session import Database
from graph.auth.identity import authenticate
from graph.auth.permissions import require_read
from graph.auth.tokens import Principal
from graph.context import Context, Services
from graph.errors import NotFound, Unauthenticated
from graph.logs import current_request
from graph.realtime.hub import RealtimeHub
from graph.settings import Settings

PROJECT_NOT_FOUND = "project not found"
# Declares the scheme in /docs (its Authorize button); the header itself is read below as
# GraphQL reads it, a bare token included.
bearer_scheme = HTTPBearer(
    auto_error=False, description="The JWT GraphQL takes: `Authorization: Bearer <JWT>`."
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_database(services: ServicesDep) -> Database:
    return services.db


def get_realtime(services: ServicesDep) -> RealtimeHub:
    return services.realtime


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
RealtimeDep = Annotated[RealtimeHub, Depends(get_realtime)]


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"www-authenticate": "Bearer"}
    )


async def get_current_user(
    request: Request,
    services: ServicesDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller, from the same token and rules as GraphQL; 401 without a valid one."""
    try:
        principal = await authenticate(services, request.headers.get("authorization"))
    except Unauthenticated as exc:
        raise unauthorized(str(exc)) from exc
    if principal is None:
        raise unauthorized("authentication required: send Authorization: Bearer <JWT>")
    record = current_request.get()
    if record is not None:
        record.user = principal.user_id  # the access log names the caller, as for GraphQL
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def get_request_context(request: Request, services: ServicesDep, user: CurrentUser) -> Context:
    """The context resolvers get, so a route applies the permission checks they apply."""
    record = current_request.get()
    return Context(
        services=services,
        request=request,
        response=None,
        request_id=record.id if record else "-",
        principal=user,
    )


RequestContext = Annotated[Context, Depends(get_request_context)]


async def get_readable_project(project_id: uuid.UUID, ctx: RequestContext) -> str:
    """The path's project, which the caller may see. One hidden from the caller gets the same
    404 as one that does not exist (GraphQL's NOT_FOUND): no hint that it exists."""
    project = str(project_id)
    try:
        user = await require_read(ctx, project)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=PROJECT_NOT_FOUND) from exc
    if user.is_admin:  # admins pass require_read for any id, an unknown one too
        async with ctx.db.read() as session:
            if await project_repo.get(session, project_id=project) is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, detail=PROJECT_NOT_FOUND)
    return project


ReadableProject = Annotated[str, Depends(get_readable_project)]
