"""Dependencies shared by the routes: the database, the caller, and the caller's own task.

All of them are `async def`: a plain `def` dependency runs in the thread pool, and that hop
costs more than the work these do.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from todo_api.auth import AuthError, Principal, TokenVerifier
from todo_api.config import Settings
from todo_api.db import Database, Row
from todo_api.services import tasks as task_service
from todo_api.services.accounts import LoginThrottle
from todo_api.services.users import KnownUsers, ensure_user


async def get_db(request: Request) -> Database:
    """The application's database."""
    return request.app.state.db


DbDep = Annotated[Database, Depends(get_db)]


async def get_known_users(request: Request) -> KnownUsers:
    """The process-wide record of users whose row is known to exist."""
    return request.app.state.known_users


KnownUsersDep = Annotated[KnownUsers, Depends(get_known_users)]


async def get_app_settings(request: Request) -> Settings:
    """The settings the application was built with."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_verifier(request: Request) -> TokenVerifier:
    """The application's token verifier (it also holds the signing secret)."""
    return request.app.state.verifier


VerifierDep = Annotated[TokenVerifier, Depends(get_verifier)]


async def get_login_throttle(request: Request) -> LoginThrottle:
    """The process-wide count of failed sign-ins."""
    return request.app.state.login_throttle


LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT: Better Auth's, one from `/api/auth/sign-in`, or one signed with "
    "BETTER_AUTH_SECRET (`todo-api token --sub <user>` makes one).",
)


def unauthorized(detail: str) -> HTTPException:
    """A 401 that tells the client to send a bearer token."""
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; their `user` row exists once this returns."""
    if credentials is None:
        raise unauthorized("Not authenticated")
    state = request.app.state
    try:
        principal = await state.verifier.verify(credentials.credentials)
    except AuthError as error:
        raise unauthorized(str(error)) from None
    await ensure_user(state.db, principal, state.known_users)
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_owner(user_id: Annotated[str, Path()], caller: CurrentUser) -> Principal:
    """The caller, when the path's `{user_id}` is theirs; 403 when it names somebody else."""
    if user_id != caller.user_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="Not authorized to access this user's tasks"
        )
    return caller


Owner = Annotated[Principal, Depends(get_owner)]


async def get_own_task(task_id: Annotated[int, Path()], owner: Owner, db: DbDep) -> Row:
    """The task `{task_id}` if the caller owns it; 404 otherwise, whoever else may own it."""
    return await task_service.get_task(db, owner.user_id, task_id)


OwnTask = Annotated[Row, Depends(get_own_task)]
