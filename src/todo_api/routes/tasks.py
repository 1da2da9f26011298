"""`/api/{user_id}/tasks`: the guidelines' task endpoints."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from todo_api.deps import DbDep, KnownUsersDep, Owner, OwnTask
from todo_api.schemas import ErrorDetail, StatusFilter, TaskCreate, TaskRead, TaskUpdate
from todo_api.services import tasks as task_service

_AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorDetail, "description": "Missing, invalid or expired token"},
    403: {"model": ErrorDetail, "description": "The path names another user"},
}
_TASK_ERRORS = _AUTH_ERRORS | {404: {"model": ErrorDetail, "description": "No such task"}}
# FastAPI answers 400 itself when it cannot even read the body (bytes that are not UTF-8).
_BODY_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorDetail, "description": "The body cannot be read as text"}
}

_SERVICE_ERRORS: dict[int | str, dict[str, object]] = {
    503: {
        "model": ErrorDetail,
        "description": "The database is unreachable; retry after the given delay",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    }
}

router = APIRouter(
    prefix="/{user_id}/tasks", tags=["tasks"], responses=_AUTH_ERRORS | _SERVICE_ERRORS
)


async def _status_filter(
    status_: Annotated[StatusFilter | None, Query(alias="status")] = None,
    status_filter: Annotated[
        StatusFilter | None, Query(description="Older spelling of `status`.", deprecated=True)
    ] = None,
) -> StatusFilter:
    return status_ or status_filter or StatusFilter.all


@router.get("")
async def list_tasks(
    owner: Owner,
    db: DbDep,
    status_: Annotated[StatusFilter, Depends(_status_filter)],
) -> list[TaskRead]:
    """The caller's tasks, oldest first; `status` picks pending or completed ones."""
    return await task_service.list_tasks(db, owner.user_id, status_)


@router.post("", status_code=status.HTTP_201_CREATED, responses=_BODY_ERRORS)
async def create_task(
    owner: Owner, data: TaskCreate, db: DbDep, known_users: KnownUsersDep
) -> TaskRead:
    """Add a task."""
    return await task_service.create_task(db, owner, data, known_users)


@router.get("/{task_id}", responses=_TASK_ERRORS)
async def get_task(task: OwnTask) -> TaskRead:
    """One task."""
    return task


@router.put("/{task_id}", responses=_TASK_ERRORS | _BODY_ERRORS)
async def update_task(task: OwnTask, data: TaskUpdate, db: DbDep) -> TaskRead:
    """Change the fields sent; fields left out (or null) keep their values."""
    return await task_service.update_task(db, task, data)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_TASK_ERRORS,
)
async def delete_task(task: OwnTask, db: DbDep) -> None:
    """Delete a task."""
    await task_service.delete_task(db, task)


@router.patch("/{task_id}/complete", responses=_TASK_ERRORS)
async def toggle_task(task: OwnTask, db: DbDep) -> TaskRead:
    """Flip a task between pending and completed."""
    return await task_service.toggle_task(db, task)
