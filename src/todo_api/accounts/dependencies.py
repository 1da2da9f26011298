"""The caller as routes get it: who a bearer token names (`CurrentUser`), and the caller on their
own `/api/{user_id}/…` (`Owner`; `ApiOwner` also takes an app password over HTTP Basic), with
what serves their requests.

All of them are `async def` (a plain `def` one runs in the thread pool, and that hop costs
more than the work these do), and there are few of them per route: FastAPI pays for every
dependency it solves, on every request, so the caller's checks are one dependency each instead
of a chain.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPBearer
from fastapi.security.base import SecurityBase

from todo_api.accounts.app_passwords.basic import authenticate_api, is_basic
from todo_api.accounts.throttle import LoginThrottle
from todo_api.accounts.tokens import Principal
from todo_api.accounts.users import KnownUsers, ensure_user
from todo_api.accounts.verifier import TokenVerifier
from todo_api.core.config import Settings
from todo_api.core.database import Database, Store
from todo_api.core.errors import Forbidden, Unauthorized
from todo_api.core.mail import SmtpMailer
from todo_api.core.ratelimit import RateLimiter
from todo_api.core.state import AppState, app_state, provide

VerifierDep = Annotated[TokenVerifier, Depends(provide(TokenVerifier))]


async def get_mailer(request: Request) -> SmtpMailer | None:
    """What sends mail, when the server does (SMTP_URL and SMTP_FROM set)."""
    return app_state(request.app).find(SmtpMailer)


MailerDep = Annotated[SmtpMailer | None, Depends(get_mailer)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(provide(LoginThrottle))]


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified caller, and what serves their requests."""

    user: Principal
    store: Store
    known_users: KnownUsers
    settings: Settings

    @classmethod
    def of(cls, state: AppState, user: Principal) -> "Caller":
        """The caller `user`, served by the app whose state this is."""
        return cls(user, state.get(Store), state.get(KnownUsers), state.get(Settings))

    @property
    def user_id(self) -> str:
        """The caller's (and the path's) user id."""
        return self.user.user_id

    @property
    def db(self) -> Database:
        """The database, for reads."""
        return self.store.db


async def authenticate(state: AppState, token: str) -> Principal:
    """The caller `token` names, with a `user` row (AuthError, a 401, if it is not valid)."""
    principal = await state.get(TokenVerifier).verify(token)
    await ensure_user(state.get(Store).db, principal, state.get(KnownUsers))
    return principal


async def within_rate_limit(state: AppState, user_id: str) -> None:
    """TooManyRequests once the user is over their per-user limit."""
    await state.get(RateLimiter).check_user(user_id)


def missing_token_detail(authorization: str | None) -> str | None:
    """Why a request carries no bearer token, for its 401 (None: the default, no token).

    A token sent without its scheme (`Authorization: <token>`) is a common slip: the answer
    names the scheme, never the value sent.
    """
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and not token.strip():
        return "The Authorization header holds no token after Bearer"
    return "The Authorization header must use the Bearer scheme: Authorization: Bearer <token>"


# The bearer scheme as the OpenAPI document declares it.
_BEARER = HTTPBearer(
    scheme_name="HTTPBearer",
    auto_error=False,
    description="A JWT: Better Auth's, one from `/api/auth/sign-in`, or one signed with "
    "BETTER_AUTH_SECRET (`todo-api token --sub <user>` makes one).",
)


class _BearerScheme(SecurityBase):
    """A dependency that reads the bearer token itself: FastAPI declares it in the OpenAPI
    document as the HTTPBearer scheme (being a SecurityBase with its model)."""

    def __init__(self) -> None:
        self.model = _BEARER.model
        self.scheme_name = _BEARER.scheme_name

    async def authenticate(self, request: Request) -> tuple[Principal, AppState]:
        """The verified caller, with a `user` row; 401 without a valid bearer token."""
        credentials = await _BEARER(request)
        if credentials is None:
            raise Unauthorized(missing_token_detail(request.headers.get("authorization")))
        state = app_state(request.app)
        return await authenticate(state, credentials.credentials), state


class BearerAuth(_BearerScheme):
    """The caller a bearer token names."""

    async def __call__(self, request: Request) -> Principal:
        principal, _state = await self.authenticate(request)
        return principal


def client_ip(request: Request) -> str:
    """The client's address, as the throttles count it."""
    return request.client.host if request.client else "unknown"


class OwnerAuth(_BearerScheme):
    """The caller, when the path's `{user_id}` is theirs (403 when it names somebody else),
    and within their per-user rate limit (429).

    With `basic`, an app password over HTTP Basic names the caller too: a `read` one for
    GET and HEAD only (403 otherwise), a `read` and `write` one for everything; one for another
    purpose (CalDAV, the calendar feed) is a 401 here.

    The credentials, ownership and rate checks are one dependency, not a chain of three.
    """

    def __init__(self, *, basic: bool = False) -> None:
        super().__init__()
        self.basic = basic

    async def __call__(self, request: Request, user_id: Annotated[str, Path()]) -> Caller:
        authorization = request.headers.get("authorization")
        if self.basic and is_basic(authorization):
            state = app_state(request.app)
            principal = await authenticate_api(
                state, authorization, request.method, ip=client_ip(request)
            )
        else:
            principal, state = await self.authenticate(request)
        if user_id != principal.user_id:
            # The caller's own id only: a client that took a name or an email for it learns
            # which path is theirs.
            raise Forbidden(
                "Not authorized to access this user's tasks: this token belongs to "
                f"user {principal.user_id!r}"
            )
        await within_rate_limit(state, principal.user_id)
        return Caller.of(state, principal)


get_current_user = BearerAuth()
CurrentUser = Annotated[Principal, Depends(get_current_user)]
get_owner = OwnerAuth()
Owner = Annotated[Caller, Depends(get_owner)]
get_api_owner = OwnerAuth(basic=True)
ApiOwner = Annotated[Caller, Depends(get_api_owner)]
