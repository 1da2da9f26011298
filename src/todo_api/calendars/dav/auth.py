"""Who a CalDAV request comes from: HTTP Basic with an app password of the `caldav` scope (what
CalDAV clients send), or a bearer token (as the rest of the API takes)."""

from starlette.requests import Request

from todo_api import accounts
from todo_api.accounts import Caller
from todo_api.calendars.dav.errors import DavUnauthorized
from todo_api.core.errors import ApiError
from todo_api.core.state import app_state

SCOPE = "caldav"


async def dav_caller(request: Request) -> Caller:
    """The caller the request's credentials name (within their rate limit); DavUnauthorized
    without valid ones."""
    state = app_state(request.app)
    authorization = request.headers.get("authorization")
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        try:
            principal = await accounts.authenticate(state, credentials.strip())
        except ApiError:
            raise DavUnauthorized() from None
    elif scheme.lower() == "basic":
        principal = await accounts.authenticate_basic(
            state, authorization, SCOPE, ip=accounts.client_ip(request)
        )
    else:
        raise DavUnauthorized()
    await accounts.within_rate_limit(state, principal.user_id)
    return Caller.of(state, principal)
