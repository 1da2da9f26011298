"""`/api/{user_id}/changes`: what changed in the caller's tasks since a cursor (delta sync)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError

from todo_api.deps import HorizonDep, Owner
from todo_api.routes.responses import OWNER_ERRORS, Responses
from todo_api.schemas.changes import ChangePage
from todo_api.schemas.messages import ErrorDetail
from todo_api.services import changes as change_log

router = APIRouter(prefix="/api/{user_id}/changes", tags=["sync"], responses=OWNER_ERRORS)

CURSOR_GONE: Responses = {
    410: {
        "model": ErrorDetail,
        "description": "The log no longer reaches back to `since`: list the tasks again",
    }
}


def parse_cursor(token: str, *location: str) -> change_log.ChangeCursor:
    """The cursor a client sent, or FastAPI's 422 for a parameter that is not one."""
    try:
        return change_log.ChangeCursor.decode(token)
    except change_log.InvalidCursor as error:
        detail = {"type": "value_error", "loc": location, "msg": f"Value error, {error}"}
        raise RequestValidationError([detail | {"input": token}]) from None


@router.get("", response_model=ChangePage, responses=CURSOR_GONE)
async def list_changes(
    owner: Owner,
    horizon: HorizonDep,
    since: Annotated[
        str | None,
        Query(max_length=64, description="A change id, `next` or `X-Changes-Cursor`."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The caller's task changes after `since` (from the oldest kept without it), oldest first.

    `410 Gone` when changes after `since` are no longer kept: list the tasks again, and sync
    from that listing's `X-Changes-Cursor`.
    """
    position = None if since is None else parse_cursor(since, "query", "since")
    page = await change_log.read(owner.db, horizon, owner.user_id, position, limit)
    return Response(change_log.page_json(page), media_type="application/json")
