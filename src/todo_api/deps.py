"""Dependencies shared by the routes: the database, the caller, and the caller's own task.

All of them are `async def` (a plain `def` one runs in the thread pool, and that hop costs
more than the work these do), and there are few of them per route: FastAPI pays several
work for every dependency it solves, on every request, so the caller's checks are one
dependency each instead of a chain.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPBearer
from fastapi.security.base import SecurityBase

from todo_api.auth import Principal, TokenVerifier
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.errors import Forbidden, Unauthorized
from todo_api.horizon import ChangeHorizon
from todo_api.models import TaskRow
from todo_api.services import tasks as task_service
from todo_api.services.throttle import LoginThrottle
from todo_api.services.users import KnownUsers, ensure_user


async def get_db(request: Request) -> Database:
    """The application's database."""
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


async def get_horizon(request: Request) -> ChangeHorizon:
    """How far the change log is final (todo_api.horizon)."""
    horizon: ChangeHorizon = request.app.state.horizon
    return horizon


HorizonDep = Annotated[ChangeHorizon, Depends(get_horizon)]


async def get_app_settings(request: Request) -> Settings:
    """The settings the application was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_verifier(request: Request) -> TokenVerifier:
    """The application's token verifier (it also holds the signing secret)."""
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


VerifierDep = Annotated[TokenVerifier, Depends(get_verifier)]


async def get_login_throttle(request: Request) -> LoginThrottle:
    """The process-wide count of failed sign-ins."""
    login_throttle: LoginThrottle = request.app.state.login_throttle
    return login_throttle


LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]


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

    async def authenticate(self, request: Request) -> Principal:
        """The verified caller, with a `user` row; 401 without a valid bearer token."""
        credentials = await _BEARER(request)
        if credentials is None:
            raise Unauthorized()
        state = request.app.state
        principal: Principal = await state.verifier.verify(credentials.credentials)
        await ensure_user(state.db, principal, state.known_users)
        return principal


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified caller on their own `/api/{user_id}/…`, and what serves their requests."""

    user: Principal
    db: Database
    known_users: KnownUsers
    settings: Settings

    @property
    def user_id(self) -> str:
        """The caller's (and the path's) user id."""
        return self.user.user_id


class BearerAuth(_BearerScheme):
    """The caller a bearer token names."""

    async def __call__(self, request: Request) -> Principal:
        return await self.authenticate(request)


class OwnerAuth(_BearerScheme):
    """The caller, when the path's `{user_id}` is theirs (403 when it names somebody else),
    and within their per-user rate limit (429).

    The token, ownership and rate checks are one dependency, not a chain of three.
    """

    async def __call__(self, request: Request, user_id: Annotated[str, Path()]) -> Caller:
        principal = await self.authenticate(request)
        if user_id != principal.user_id:
            # The caller's own id only: a client that took a name or an email for it learns
            # which path is theirs.
            raise Forbidden(
                "Not authorized to access this user's tasks: this token belongs to "
                f"user {principal.user_id!r}"
            )
        state = request.app.state
        await state.rate_limiter.check_user(principal.user_id)
        return Caller(principal, state.db, state.known_users, state.settings)


get_current_user = BearerAuth()
CurrentUser = Annotated[Principal, Depends(get_current_user)]
get_owner = OwnerAuth()
Owner = Annotated[Caller, Depends(get_owner)]


async def get_own_task(task_id: Annotated[int, Path()], owner: Owner) -> TaskRow:
    """The task `{task_id}` if the caller owns it; 404 otherwise, whoever else may own it."""
    return await task_service.get_task(owner.db, owner.user_id, task_id)


OwnTask = Annotated[TaskRow, Depends(get_own_task)]
