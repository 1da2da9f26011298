"""Accounts: the caller's profile (every token mode) and the service's own sign-up and sign-in."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import TypeAdapter, ValidationError

from todo_api.auth import TokenVerifier
from todo_api.config import Settings
from todo_api.db import Row
from todo_api.deps import CurrentUser, DbDep, LoginThrottleDep, SettingsDep, VerifierDep
from todo_api.errors import InvalidCredentials, Unauthorized
from todo_api.routes.responses import Responses
from todo_api.schemas.accounts import (
    Password,
    SignedIn,
    SignIn,
    SignInEmail,
    SignUp,
    UserRead,
)
from todo_api.schemas.messages import ErrorDetail
from todo_api.services import accounts

router = APIRouter(tags=["auth"])
# Mounted only when ACCOUNTS_ENABLED (the default): otherwise these paths are 404.
accounts_router = APIRouter(tags=["auth"])

TOKEN_URL = "/api/auth/token"
# Offered in the OpenAPI document beside the bearer scheme (see todo_api.openapi).
PASSWORD_FLOW = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    description="Sign in with an account of the service's own (the email as the username).",
)
_EMAIL = TypeAdapter(SignInEmail)
_PASSWORD = TypeAdapter(Password)
_CREDENTIAL_ERRORS: Responses = {
    status.HTTP_401_UNAUTHORIZED: {"model": ErrorDetail, "description": "Wrong email or password"},
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "model": ErrorDetail,
        "description": "Too many failed attempts; see Retry-After",
    },
}


@router.get("/me", responses={401: {"model": ErrorDetail}})
async def read_me(caller: CurrentUser, db: DbDep) -> UserRead:
    """The caller's profile, whichever kind of token they signed in with."""
    user = await accounts.get_profile(db, caller.user_id)
    if user is None:  # deleted since this process last wrote it
        raise Unauthorized("User not found")
    return accounts.user_read(user)


@accounts_router.post(
    "/sign-up",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"model": ErrorDetail, "description": "Email already in use"},
        429: _CREDENTIAL_ERRORS[status.HTTP_429_TOO_MANY_REQUESTS],
    },
)
async def sign_up(
    data: SignUp,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
) -> SignedIn:
    """Create an account; returns a token and the user it belongs to."""
    user = await accounts.sign_up(db, data, settings, _client_ip(request), throttle)
    return _signed_in(user, settings, verifier)


@accounts_router.post("/sign-in", responses=_CREDENTIAL_ERRORS)
async def sign_in(
    data: SignIn,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
) -> SignedIn:
    """Exchange an email and password for a token; the answer names the user it belongs to."""
    user = await accounts.authenticate(db, data.email, data.password, _client_ip(request), throttle)
    return _signed_in(user, settings, verifier)


@accounts_router.post("/token", responses=_CREDENTIAL_ERRORS)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
) -> SignedIn:
    """The OAuth2 password flow (`username` is the email), for the docs' Authorize button."""
    try:
        email = _EMAIL.validate_python(form.username)
        _PASSWORD.validate_python(form.password)
    except ValidationError:
        raise InvalidCredentials() from None
    user = await accounts.authenticate(db, email, form.password, _client_ip(request), throttle)
    return _signed_in(user, settings, verifier)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in(user: Row, settings: Settings, verifier: TokenVerifier) -> SignedIn:
    signer = verifier.shared_secret
    assert signer is not None  # accounts on → the shared-secret mode is on
    token = accounts.access_token(
        user, signer=signer, expires_in=settings.access_token_expire_seconds
    )
    return SignedIn(**token.model_dump(), user=accounts.user_read(user))
