"""`/api/{user_id}/calendar.ics?token=…`: the calendar feed of due dates, for calendar apps
that subscribe to a URL (they send no headers: the token, a `feed` app password, is in the
URL). The access log never has the query string; errors never quote the token."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import APIKeyQuery

from todo_api.accounts import authenticate_feed, client_ip, within_rate_limit
from todo_api.calendars import feed
from todo_api.core.database import Store
from todo_api.core.http.responses import API_ERRORS, error
from todo_api.core.state import app_state

router = APIRouter(prefix="/api/{user_id}", tags=["calendars"], responses=API_ERRORS)

MEDIA_TYPE = "text/calendar; charset=utf-8"
# The feed's credential, declared as such in the OpenAPI document; read as it is sent (a 422
# from FastAPI's validation would quote it), and checked by the route.
FEED_TOKEN = APIKeyQuery(
    name="token",
    scheme_name="FeedToken",
    description="A `feed` app password's secret, in the URL: calendar apps send no headers.",
    auto_error=False,
)
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
    token: Annotated[str | None, Depends(FEED_TOKEN)],
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
