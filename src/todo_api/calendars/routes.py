"""`/api/{user_id}/calendar.ics?token=…`: the calendar feed of due dates, for calendar apps
that subscribe to a URL (they send no headers: the token, a `feed` app password, is in the
URL). The access log never has the query string; errors never quote the token."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from todo_api.accounts import authenticate_feed, client_ip, within_rate_limit
from todo_api.calendars import feed
from todo_api.core.database import Store
from todo_api.core.http.responses import API_ERRORS, error
from todo_api.core.state import app_state

router = APIRouter(prefix="/api/{user_id}", tags=["calendars"], responses=API_ERRORS)

MEDIA_TYPE = "text/calendar; charset=utf-8"
_LONGEST_TOKEN = 200


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed (RFC 5545)"},
        404: error(
            "Unknown, revoked or another user's token, or not a feed token",
            "Calendar feed not found",
        ),
        429: error("Too many wrong tokens from this address", "Too many failed attempts"),
    },
)
async def calendar_feed(
    request: Request,
    user_id: Annotated[str, Path(max_length=255)],
    # Not validated by FastAPI: its 422 would quote the token.
    token: Annotated[str | None, Query(description="A `feed` app password's secret")] = None,
) -> Response:
    """The user's pending tasks that have a due date, as an iCalendar feed: all-day events on
    their due day, or at their due time. Subscribe to its URL in a calendar app."""
    state = app_state(request.app)
    principal = await authenticate_feed(
        state, user_id, (token or "")[:_LONGEST_TOKEN], client_ip(request)
    )
    await within_rate_limit(state, principal.user_id)
    body = await feed.feed(state.get(Store).db, principal.user_id)
    return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": "private"})
