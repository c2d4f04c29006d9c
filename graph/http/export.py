"""`GET /projects/{project_id}/tasks.csv`: a project's tasks as CSV, streamed page by page.

Authorised as GraphQL is (the bearer token, then the project's membership: any role may
read). Rows come in the order of every task list, (created_at, id), read in keyset pages
so that no database connection waits on a slow client.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from db.models import Task
from db.repositories import tasks as task_repo
from db.session import Database
from graph.http.dependencies import DatabaseDep, ReadableProject

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "assignee_id",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
)
PAGE_SIZE = 500
# A spreadsheet runs a cell that starts with one of these as a formula; a quote in front
# makes it text (OWASP, "CSV injection"). Titles, descriptions and user ids are user input.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

router = APIRouter(tags=["export"])


def as_text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def task_row(task: Task) -> tuple[str | int, ...]:
    return (
        task.id,
        as_text(task.title),
        as_text(task.description),
        task.status.value,
        as_text(task.assignee_id),
        as_text(task.created_by_id),
        task.created_at.isoformat(),
        task.updated_at.isoformat(),
        task.version,
    )


async def task_csv(db: Database, project_id: str) -> AsyncIterator[str]:
    """The header line, then one chunk of rows per page read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes where needed
    writer.writerow(COLUMNS)
    after: tuple[datetime, str] | None = None
    while True:
        async with db.read() as session:
            page = await task_repo.get_after(
                session, project_id=project_id, after=after, limit=PAGE_SIZE
            )
        writer.writerows(task_row(task) for task in page)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(page) < PAGE_SIZE:
            return
        after = (page[-1].created_at, page[-1].id)


@router.get(
    "/projects/{project_id}/tasks.csv",
    summary="A project's tasks as CSV",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "a header line, then one task a row"},
        401: {"description": "no valid bearer token"},
        404: {"description": "no such project, or the caller is not a member"},
    },
)
async def export_tasks(project_id: ReadableProject, db: DatabaseDep) -> StreamingResponse:
    return StreamingResponse(
        task_csv(db, project_id),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "content-disposition": f'attachment; filename="tasks-{project_id}.csv"',
            "cache-control": "no-store",
        },
    )
