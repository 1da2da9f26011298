"""`/api/{user_id}/tasks`: the guidelines' task endpoints, and what a real todo app adds."""

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import StringConstraints, TypeAdapter, ValidationError

from todo_api.db import Row
from todo_api.deps import DbDep, Owner, OwnTask
from todo_api.routes.body import json_body, read_json
from todo_api.routes.responses import OWNER_ERRORS, TASK_ERRORS, WRITE_ERRORS
from todo_api.schemas import (
    BulkComplete,
    BulkResult,
    ErrorDetail,
    TaskCreate,
    TaskListQuery,
    TaskPatch,
    TaskRead,
    TaskStats,
    TaskUpdate,
    task_json,
    tasks_json,
)
from todo_api.services import tasks as task_service

# Mounted on the app itself, not included (see main.create_app): hence the whole path here.
router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"], responses=OWNER_ERRORS)

IfMatch = Annotated[
    str | None,
    Header(max_length=1000, description="Write only if the task still has this ETag (else 412)."),
]
# Read by hand, as the listing's query is: FastAPI's handling of a header parameter costs a
# few percent of a whole create on every request, whether the header is sent or not.
_IDEMPOTENCY_KEY = TypeAdapter(
    Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
)
_IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key and body return the first response (24 h).",
    "schema": _IDEMPOTENCY_KEY.json_schema(),
}
_T = TypeVar("_T")
_LIST_QUERY = TypeAdapter(TaskListQuery)
_DEFAULT_QUERY = TaskListQuery()
_REPEATABLE = ("priority", "tag")


def _parse(adapter: TypeAdapter[_T], value: object, *location: str) -> _T:
    """`value` validated, or the 422 FastAPI gives for a parameter it parsed itself."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise RequestValidationError(
            [
                detail | {"loc": (*location, *detail["loc"])}
                for detail in error.errors(include_url=False, include_context=False)
            ]
        ) from None


def _list_query(request: Request) -> TaskListQuery:
    """The listing's parameters, parsed by hand: FastAPI's per-request handling of a query
    model cost more than the rest of a default listing's Python work."""
    params = request.query_params
    if not params:
        return _DEFAULT_QUERY
    values: dict[str, Any] = {name: value for name, value in params.items()}
    for name in _REPEATABLE:
        if name in values:
            values[name] = params.getlist(name)
    return _parse(_LIST_QUERY, values, "query")


def _task_response(task: Row, status_code: int = status.HTTP_200_OK) -> Response:
    """The task as clients see it, with its ETag. Serialised here, as listings are: FastAPI
    would validate a TaskRead from the row first (see schemas.task_json)."""
    headers = {"ETag": task_service.etag(task)}
    return Response(task_json(task), status_code, headers, media_type="application/json")


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    return None if key is None else _parse(_IDEMPOTENCY_KEY, key, "header", "idempotency-key")


@router.get(
    "",
    response_model=list[TaskRead],
    openapi_extra={"parameters": TaskListQuery.openapi_parameters()},
)
async def list_tasks(owner: Owner, request: Request) -> Response:
    """The caller's tasks: creation order unless `sort` says otherwise, `limit` at a time.

    `Link: <…>; rel="next"` points at the next page; `X-Total-Count` counts every match (sent
    when it comes free, or when asked with `count=true`).
    """
    page = await task_service.list_tasks(owner.db, owner.user_id, _list_query(request))
    headers = {}
    if page.total is not None:
        headers["X-Total-Count"] = str(page.total)
    if page.next_cursor is not None:
        next_url = request.url.remove_query_params("offset").include_query_params(
            cursor=page.next_cursor
        )
        headers["Link"] = f'<{next_url}>; rel="next"'
    elif page.next_offset is not None:
        next_url = request.url.include_query_params(offset=page.next_offset)
        headers["Link"] = f'<{next_url}>; rel="next"'
    # Serialised here rather than by FastAPI, which would validate a TaskRead per row first.
    return Response(tasks_json(page.tasks), media_type="application/json", headers=headers)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"model": ErrorDetail, "description": "The user holds the most tasks allowed"},
        422: {"description": "Invalid body, or an Idempotency-Key reused for another"},
    },
    response_model=TaskRead,
    openapi_extra={"parameters": [_IDEMPOTENCY_KEY_PARAMETER]} | json_body(TaskCreate),
)
async def create_task(owner: Owner, request: Request) -> Response:
    """Add a task. With `Idempotency-Key`, a retry returns the first response instead."""
    data = await read_json(request, TaskCreate)
    idempotency_key = _idempotency_key(request)
    db, known_users = owner.db, owner.known_users
    max_tasks = owner.settings.max_tasks_per_user
    if idempotency_key is None:
        task = await task_service.create_task(
            db, owner.user, data, known_users, max_tasks=max_tasks
        )
        return _task_response(task, status.HTTP_201_CREATED)
    stored = await task_service.create_task_once(
        db, owner.user, data, known_users, idempotency_key, max_tasks=max_tasks
    )
    headers = {"ETag": task_service.etag(stored.body)}
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


@router.get("/stats")
async def task_stats(owner: Owner) -> TaskStats:
    """How many tasks there are, pending, completed, overdue and due today (UTC)."""
    return await task_service.task_stats(owner.db, owner.user_id)  # type: ignore[return-value]


@router.post("/bulk/complete")
async def complete_tasks(owner: Owner, selection: BulkComplete) -> BulkResult:
    """Complete several pending tasks (`ids`), or all of them (`all_pending`), at once.

    Ids that are not the caller's pending tasks are skipped; `ids` in the answer were completed.
    """
    ids = await task_service.complete_tasks(owner.db, owner.user_id, selection)
    return BulkResult(count=len(ids), ids=ids)


@router.delete("/completed")
async def delete_completed(owner: Owner) -> BulkResult:
    """Delete every completed task at once."""
    ids = await task_service.delete_completed(owner.db, owner.user_id)
    return BulkResult(count=len(ids), ids=ids)


@router.get(
    "/{task_id:int}",
    response_model=TaskRead,
    responses=TASK_ERRORS | {304: {"description": "`If-None-Match` names the current ETag"}},
)
async def get_task(
    task: OwnTask, if_none_match: Annotated[str | None, Header(max_length=1000)] = None
) -> Response:
    """One task; `304 Not Modified` when `If-None-Match` has its current ETag."""
    if task_service.not_modified(if_none_match, task):
        headers = {"ETag": task_service.etag(task)}
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return _task_response(task)


async def _write(db: DbDep, task: Row, changes: dict[str, Any], if_match: str | None) -> Response:
    # PUT and PATCH differ only in how the body becomes changes.
    version = task_service.expected_version(if_match, task)
    return _task_response(await task_service.update_task(db, task, changes, version))


@router.put(
    "/{task_id:int}",
    response_model=TaskRead,
    responses=WRITE_ERRORS,
    openapi_extra=json_body(TaskUpdate),
)
async def update_task(
    task: OwnTask, request: Request, db: DbDep, if_match: IfMatch = None
) -> Response:
    """Change the fields sent; fields left out (or null) keep their values."""
    data = await read_json(request, TaskUpdate)
    return await _write(db, task, data.changes(), if_match)


@router.patch(
    "/{task_id:int}",
    response_model=TaskRead,
    responses=WRITE_ERRORS,
    openapi_extra=json_body(TaskPatch),
)
async def patch_task(
    task: OwnTask, request: Request, db: DbDep, if_match: IfMatch = None
) -> Response:
    """Partial update, JSON merge semantics: absent fields are untouched, null clears."""
    data = await read_json(request, TaskPatch)
    return await _write(db, task, data.changes(), if_match)


@router.delete(
    "/{task_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=WRITE_ERRORS,
)
async def delete_task(task: OwnTask, db: DbDep, if_match: IfMatch = None) -> None:
    """Delete a task."""
    await task_service.delete_task(db, task, task_service.expected_version(if_match, task))


@router.patch("/{task_id:int}/complete", response_model=TaskRead, responses=WRITE_ERRORS)
async def toggle_task(task: OwnTask, db: DbDep, if_match: IfMatch = None) -> Response:
    """Flip a task between pending and completed (a recurring one spawns its next occurrence)."""
    version = task_service.expected_version(if_match, task)
    return _task_response(await task_service.toggle_task(db, task, version))
