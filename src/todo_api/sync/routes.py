"""`/api/{user_id}/changes`: what changed in the caller's records since a cursor (delta sync)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError

from todo_api.accounts import Owner
from todo_api.core.http.messages import ErrorDetail
from todo_api.core.http.responses import OWNER_ERRORS, Responses
from todo_api.sync import feed as change_feed
from todo_api.sync.cursors import ChangeCursor, InvalidCursor
from todo_api.sync.dependencies import HorizonDep
from todo_api.sync.schemas import change_page_model

CURSOR_GONE: Responses = {
    410: {
        "model": ErrorDetail,
        "description": "The log no longer reaches back to `since`: list the tasks again",
    }
}


def parse_cursor(token: str, *location: str) -> ChangeCursor:
    """The cursor a client sent, or FastAPI's 422 for a parameter that is not one."""
    try:
        return ChangeCursor.decode(token)
    except InvalidCursor as error:
        detail = {"type": "value_error", "loc": location, "msg": f"Value error, {error}"}
        raise RequestValidationError([detail | {"input": token}]) from None


def changes_router(change_model: Any) -> APIRouter:
    """`/changes`, documented with `change_model` (each kind of record's change, a union)."""
    router = APIRouter(prefix="/api/{user_id}/changes", tags=["sync"], responses=OWNER_ERRORS)
    router.add_api_route(
        "",
        list_changes,
        methods=["GET"],
        response_model=change_page_model(change_model),
        responses=CURSOR_GONE,
    )
    return router


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
    page = await change_feed.read(owner.db, horizon, owner.user_id, position, limit)
    return Response(page.json(), media_type="application/json")
