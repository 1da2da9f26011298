"""`/api/{user_id}/changes`: what changed in the caller's records since a cursor (delta sync)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from todo_api.accounts import Owner
from todo_api.core.http.messages import ErrorDetail
from todo_api.core.http.responses import OWNER_ERRORS, Responses
from todo_api.sync import feed as change_feed
from todo_api.sync.cursors import CURSOR_LENGTH, ChangeCursor, CursorExpired, InvalidCursor
from todo_api.sync.dependencies import HorizonDep
from todo_api.sync.schemas import change_page_model

CURSOR_GONE: Responses = {
    410: {
        "model": ErrorDetail,
        "description": "The log no longer reaches back to `since`: list the tasks again",
    }
}


# What a cursor looks like (`ChangeCursor.encode`): a value of any other shape is a 422; one of
# this shape that is no usable cursor (never issued, another database's) is gone: 410.
CURSOR_PATTERN = rf"^[A-Za-z0-9_-]{{{CURSOR_LENGTH}}}$"


def parse_cursor(token: str) -> ChangeCursor:
    """The cursor a client sent (of CURSOR_PATTERN's shape); CursorExpired if this log cannot
    serve it."""
    try:
        return ChangeCursor.decode(token)
    except InvalidCursor:
        raise CursorExpired() from None


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
        Query(pattern=CURSOR_PATTERN, description="A change id, `next` or `X-Changes-Cursor`."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The caller's task changes after `since` (from the oldest kept without it), oldest first.

    `410 Gone` when changes after `since` are no longer kept: list the tasks again, and sync
    from that listing's `X-Changes-Cursor`.
    """
    position = None if since is None else parse_cursor(since)
    page = await change_feed.read(owner.db, horizon, owner.user_id, position, limit)
    return Response(page.json(), media_type="application/json")
