"""`/api/{user_id}/tasks`: the guidelines' task endpoints, and what a real todo app adds."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import AfterValidator, TypeAdapter, WithJsonSchema
from pydantic_core import PydanticCustomError

from todo_api import sync
from todo_api.accounts import ApiOwner as Owner
from todo_api.core.http.direct_route import DirectRoute
from todo_api.core.http.etags import etag, expected_version, not_modified
from todo_api.core.http.messages import ErrorDetail
from todo_api.core.http.request_parts import HeaderValue, JsonBody, QueryModel, openapi_extra
from todo_api.core.http.responses import OWNER_ERRORS, Responses
from todo_api.tasks import bulk, creation, reading, service
from todo_api.tasks.events import KIND
from todo_api.tasks.listing import TaskListQuery
from todo_api.tasks.models import TaskRow
from todo_api.tasks.schemas import (
    BulkComplete,
    BulkResult,
    TaskCreate,
    TaskMove,
    TaskPatch,
    TaskRead,
    TaskStats,
    TaskUpdate,
)
from todo_api.tasks.sharing import access
from todo_api.tasks.sharing.models import Role
from todo_api.tasks.views import task_json, tasks_json

TASK_ERRORS: Responses = {404: {"model": ErrorDetail, "description": "No such task"}}
# A list or parent task named in the body or query that is not the caller's.
PLACE_ERRORS: Responses = {
    404: {"model": ErrorDetail, "description": "No such list, or no such parent task"}
}
# The task, or a list, parent or neighbour it names, is not the caller's.
MOVE_ERRORS: Responses = {
    404: {"model": ErrorDetail, "description": "No such task, list, parent or neighbour"}
}
WRITE_ERRORS: Responses = TASK_ERRORS | {
    412: {"model": ErrorDetail, "description": "`If-Match` names an outdated version"}
}
# Completing a recurring task creates its next occurrence: a task, under the user's cap.
TASK_LIMIT: Responses = {
    409: {
        "model": ErrorDetail,
        "description": "Completing a recurring task would create a task past MAX_TASKS_PER_USER",
    }
}

# Mounted on the app itself, not included (see main.create_app): hence the whole path here.
router = APIRouter(
    prefix="/api/{user_id}/tasks", tags=["tasks"], responses=OWNER_ERRORS, route_class=DirectRoute
)

# Read by the routes themselves (see core/http/request_parts.py).
LIST_QUERY = QueryModel(TaskListQuery)
CREATE_BODY = JsonBody(TaskCreate)
UPDATE_BODY = JsonBody(TaskUpdate)
PATCH_BODY = JsonBody(TaskPatch)
MOVE_BODY = JsonBody(TaskMove)
_KEY_PATTERN = r"^[\x21-\x7e]+$"
_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _KEY_PATTERN}


def _idempotency_key(value: str) -> str:
    # Said in words: the pattern alone reads as a regular expression to the client.
    if not 1 <= len(value) <= 255 or not re.fullmatch(_KEY_PATTERN, value):
        raise PydanticCustomError(
            "idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters only (letters, digits "
            "and punctuation, no spaces)",
        )
    return value


IDEMPOTENCY_KEY = HeaderValue(
    "Idempotency-Key",
    TypeAdapter(
        Annotated[
            str,
            AfterValidator(_idempotency_key),
            WithJsonSchema(_KEY_SCHEMA),
        ]
    ),
    "Retries with the same key and body answer with the task the first one created (24 h).",
)
IF_MATCH = HeaderValue.like_fastapi(
    "If-Match",
    max_length=1000,
    description="Write only if the task still has this ETag (else 412).",
)
IF_NONE_MATCH = HeaderValue.like_fastapi("If-None-Match", max_length=1000)
CHANGES_CURSOR = "X-Changes-Cursor"


async def get_visible_task(task_id: Annotated[int, Path()], owner: Owner) -> TaskRow:
    """The task `{task_id}` if the caller owns it or is in its shared list; 404 otherwise,
    whoever else may own it."""
    return (await access.task_for(owner.db, owner.user_id, task_id, Role.viewer)).row


async def get_editable_task(
    task_id: Annotated[int, Path()], owner: Owner
) -> access.Shared[TaskRow]:
    """The task `{task_id}` if the caller owns it or edits its shared list (403 for a
    viewer of it; 404 for anybody else), and the caller's role. Writes from here on are the
    caller's (`completed_by`)."""
    return await access.writable_task(owner.db, owner.user_id, task_id)


VisibleTask = Annotated[TaskRow, Depends(get_visible_task)]
EditableTask = Annotated[access.Shared[TaskRow], Depends(get_editable_task)]
FORBIDDEN: Responses = {
    403: {
        "model": ErrorDetail,
        "description": "A viewer of the task's shared list (or a member moving it out)",
    }
}


def _task_response(
    task: TaskRow, status_code: int = status.HTTP_200_OK, json: bytes | None = None
) -> Response:
    """The task as clients see it (`json`, when already written), with its ETag. Serialised
    here, as listings are: FastAPI would validate a TaskRead from the row first (see
    `views.py`)."""
    headers = {"ETag": etag(task)}
    body = task_json(task) if json is None else json
    return Response(body, status_code, headers, media_type="application/json")


@router.get(
    "",
    response_model=list[TaskRead],
    openapi_extra=openapi_extra(LIST_QUERY),
    responses=PLACE_ERRORS
    | {
        200: {
            "headers": {
                CHANGES_CURSOR: {
                    "description": "The change log position these tasks reflect: "
                    "`GET …/changes?since=` it misses nothing that happens after.",
                    "schema": {"type": "string"},
                }
            }
        }
    },
)
async def list_tasks(owner: Owner, horizon: sync.HorizonDep, request: Request) -> Response:
    """The caller's tasks: creation order unless `sort` says otherwise, `limit` at a time.

    `X-Changes-Cursor` is where to start `GET …/changes` (or the event stream) from.

    `Link: <…>; rel="next"` points at the next page; `X-Total-Count` counts every match (sent
    when it comes free, or when asked with `count=true`).
    """
    query = LIST_QUERY.read(request)
    headers: dict[str, str] = {}
    # Taken before the rows are read: they reflect at least every change up to it.
    position = horizon.confirmed
    page = await reading.list_tasks(owner.db, owner.user_id, query)
    if owner.store.logs_changes:
        cursor = await sync.cursor_at(owner.db, owner.user_id, position, page.log_epoch)
        headers[CHANGES_CURSOR] = cursor.encode()
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
    responses=PLACE_ERRORS
    | FORBIDDEN
    | {
        409: {
            "model": ErrorDetail,
            "description": "The user holds the most tasks allowed, or the task an "
            "Idempotency-Key created has been deleted since",
        },
        422: {"description": "Invalid body, or an Idempotency-Key reused for another"},
    },
    response_model=TaskRead,
    openapi_extra=openapi_extra(IDEMPOTENCY_KEY, CREATE_BODY),
)
async def create_task(owner: Owner, request: Request) -> Response:
    """Add a task. With `Idempotency-Key`, a retry answers with the task the first created."""
    data = await CREATE_BODY.read(request)
    idempotency_key = IDEMPOTENCY_KEY.read(request)
    store, known_users = owner.store, owner.known_users
    max_tasks = owner.settings.max_tasks_per_user
    if idempotency_key is None:
        created = await creation.create_task(
            store, owner.user, data, known_users, max_tasks=max_tasks
        )
        return _task_response(created.row, status.HTTP_201_CREATED, created.json)
    stored = await creation.create_task_once(
        store,
        owner.user,
        data,
        known_users,
        idempotency_key,
        max_tasks=max_tasks,
        keys_per_user=owner.settings.idempotency_keys_per_user,
    )
    response = _task_response(stored.task, stored.status_code, stored.json)
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.get("/stats")
async def task_stats(owner: Owner) -> TaskStats:
    """How many tasks there are, pending, completed, overdue and due today (UTC)."""
    return await reading.task_stats(owner.db, owner.user_id)


@router.post("/bulk/complete", responses=TASK_LIMIT)
async def complete_tasks(owner: Owner, selection: BulkComplete) -> BulkResult:
    """Complete several pending tasks (`ids`), or all of them (`all_pending`), at once: at most
    1000 per call (with `all_pending`, the oldest 1000; call again while `count` is 1000).

    Ids that are not the caller's pending tasks are skipped; `ids` in the answer were completed.
    """
    ids = await bulk.complete_tasks(
        owner.store, owner.user_id, selection, max_tasks=owner.settings.max_tasks_per_user
    )
    return BulkResult(count=len(ids), ids=ids)


@router.delete("/completed")
async def delete_completed(owner: Owner) -> BulkResult:
    """Delete every completed task at once, and every subtask of one."""
    ids = await bulk.delete_completed(owner.store, owner.user_id)
    return BulkResult(count=len(ids), ids=ids)


@router.get(
    "/{task_id:int}",
    response_model=TaskRead,
    responses=TASK_ERRORS | {304: {"description": "`If-None-Match` names the current ETag"}},
    openapi_extra=openapi_extra(IF_NONE_MATCH),
)
async def get_task(task: VisibleTask, request: Request) -> Response:
    """One task; `304 Not Modified` when `If-None-Match` has its current ETag."""
    if not_modified(IF_NONE_MATCH.read(request), task):
        headers = {"ETag": etag(task)}
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return _task_response(task)


async def _write(
    owner: Owner, shared: access.Shared[TaskRow], changes: dict[str, Any], version: int | None
) -> Response:
    # PUT and PATCH differ only in how the body becomes changes.
    changed = await service.update_task(
        owner.store,
        shared.row,
        changes,
        version,
        max_tasks=owner.settings.max_tasks_per_user,
        may_leave_list=shared.owned,
    )
    return _task_response(changed)


@router.put(
    "/{task_id:int}",
    response_model=TaskRead,
    responses=WRITE_ERRORS | MOVE_ERRORS | TASK_LIMIT | FORBIDDEN,
    openapi_extra=openapi_extra(IF_MATCH, UPDATE_BODY),
)
async def update_task(shared: EditableTask, request: Request, owner: Owner) -> Response:
    """Change the fields sent; fields left out keep their values, and so do `title`,
    `completed`, `priority`, `tags` and `recurrence_interval` sent as null; null clears
    `description`, `due_date`, `due_at` and `recurrence`."""
    if_match = IF_MATCH.read(request)
    data = await UPDATE_BODY.read(request)
    version = expected_version(if_match, shared.row, KIND)
    return await _write(owner, shared, data.changes(), version)


@router.patch(
    "/{task_id:int}",
    response_model=TaskRead,
    responses=WRITE_ERRORS | MOVE_ERRORS | TASK_LIMIT | FORBIDDEN,
    openapi_extra=openapi_extra(IF_MATCH, PATCH_BODY),
)
async def patch_task(shared: EditableTask, request: Request, owner: Owner) -> Response:
    """Partial update, JSON merge semantics: absent fields are untouched, null clears."""
    if_match = IF_MATCH.read(request)
    data = await PATCH_BODY.read(request)
    version = expected_version(if_match, shared.row, KIND)
    return await _write(owner, shared, data.changes(), version)


@router.delete(
    "/{task_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=WRITE_ERRORS | FORBIDDEN,
    openapi_extra=openapi_extra(IF_MATCH),
)
async def delete_task(shared: EditableTask, request: Request, owner: Owner) -> None:
    """Delete a task, and its subtasks."""
    version = expected_version(IF_MATCH.read(request), shared.row, KIND)
    await service.delete_task(owner.store, shared.row, version)


@router.patch(
    "/{task_id:int}/complete",
    response_model=TaskRead,
    responses=WRITE_ERRORS | TASK_LIMIT | FORBIDDEN,
    openapi_extra=openapi_extra(IF_MATCH),
)
async def toggle_task(shared: EditableTask, request: Request, owner: Owner) -> Response:
    """Flip a task between pending and completed (a recurring one spawns its next occurrence)."""
    version = expected_version(IF_MATCH.read(request), shared.row, KIND)
    max_tasks = owner.settings.max_tasks_per_user
    return _task_response(
        await service.toggle_task(owner.store, shared.row, version, max_tasks=max_tasks)
    )


@router.post(
    "/{task_id:int}/move",
    response_model=TaskRead,
    responses=MOVE_ERRORS
    | FORBIDDEN
    | {422: {"description": "A spot the task cannot go to (see the `detail`), or a bad body"}},
    openapi_extra=openapi_extra(MOVE_BODY),
)
async def move_task(shared: EditableTask, request: Request, owner: Owner) -> Response:
    """Move a task, with its subtasks: into `list_id` (null: the Inbox), under `parent_id`
    (null: at the top), right after `after_id`, right before `before_id`, or first when
    neither is sent. Fields left out keep the task where it is (in another list, at its top)."""
    move = await MOVE_BODY.read(request)
    moved = await service.move_task(owner.store, shared.row, move, may_leave_list=shared.owned)
    return _task_response(moved)
