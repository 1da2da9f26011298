"""Accounts: the caller's profile (every token mode) and the service's own sign-up and sign-in."""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import TypeAdapter, ValidationError

from todo_api.auth import TokenVerifier
from todo_api.config import Settings
from todo_api.db import Database, Row
from todo_api.deps import (
    CurrentUser,
    DbDep,
    LoginThrottleDep,
    SettingsDep,
    VerifierDep,
    unauthorized,
)
from todo_api.schemas import (
    ErrorDetail,
    Password,
    SignedUp,
    SignIn,
    SignInEmail,
    SignUp,
    Token,
    UserRead,
)
from todo_api.services import accounts
from todo_api.services.accounts import (
    EmailTaken,
    InvalidCredentials,
    LoginThrottle,
    TooManyAttempts,
    WeakPassword,
)

router = APIRouter(tags=["auth"])
# Mounted only when ACCOUNTS_ENABLED (the default): otherwise these paths are 404.
accounts_router = APIRouter(tags=["auth"])

TOKEN_URL = "/api/auth/token"
_PASSWORD_FLOW = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    description="Sign in with an account of the service's own (the email as the username).",
)
_EMAIL = TypeAdapter(SignInEmail)
_PASSWORD = TypeAdapter(Password)
_CREDENTIAL_ERRORS = {
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
        raise unauthorized("User not found")
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
) -> SignedUp:
    """Create an account; returns the user and a token for them."""
    try:
        user = await accounts.sign_up(db, data, settings, _client_ip(request), throttle)
    except TooManyAttempts as error:
        raise _too_many(error) from None
    except WeakPassword as error:
        # Raised like pydantic's own errors, so every 422 has the one declared shape.
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "password"), "msg": str(error), "input": None}]
        ) from None
    except EmailTaken:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="An account with this email already exists"
        ) from None
    token = _token(user, settings, verifier)
    return SignedUp(**token.model_dump(), user=accounts.user_read(user))


@accounts_router.post("/sign-in", responses=_CREDENTIAL_ERRORS)
async def sign_in(
    data: SignIn,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
) -> Token:
    """Exchange an email and password for a token."""
    user = await _authenticate(request, db, throttle, data.email, data.password)
    return _token(user, settings, verifier)


@accounts_router.post("/token", responses=_CREDENTIAL_ERRORS)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
) -> Token:
    """The OAuth2 password flow (`username` is the email), for the docs' Authorize button."""
    try:
        email = _EMAIL.validate_python(form.username)
        _PASSWORD.validate_python(form.password)
    except ValidationError:
        raise unauthorized("Incorrect email or password") from None
    user = await _authenticate(request, db, throttle, email, form.password)
    return _token(user, settings, verifier)


async def _authenticate(
    request: Request, db: Database, throttle: LoginThrottle, email: str, password: str
) -> Row:
    try:
        return await accounts.authenticate(db, email, password, _client_ip(request), throttle)
    except TooManyAttempts as error:
        raise _too_many(error) from None
    except InvalidCredentials:
        raise unauthorized("Incorrect email or password") from None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(error: TooManyAttempts) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail="Too many failed attempts; try again later",
        headers={"Retry-After": str(error.retry_after)},
    )


def _token(user: Row, settings: Settings, verifier: TokenVerifier) -> Token:
    signer = verifier.shared_secret
    assert signer is not None  # accounts on → the shared-secret mode is on
    return accounts.access_token(
        user,
        secret=signer.secret,
        algorithm=signer.algorithm,
        expires_in=settings.access_token_expire_seconds,
    )


def document_password_flow(app: FastAPI) -> None:
    """Offer the password flow beside the bearer scheme in the OpenAPI schema.

    So the docs page's "Authorize" button can sign in. Only the schema changes: requests are
    still read by the one bearer dependency, with no extra work per request.
    """
    build = app.openapi
    scheme = _PASSWORD_FLOW.scheme_name

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema["components"]["securitySchemes"][scheme] = jsonable_encoder(
            _PASSWORD_FLOW.model, by_alias=True, exclude_none=True
        )
        for path in schema["paths"].values():
            for operation in path.values():
                security = operation.get("security", [])
                if {"HTTPBearer": []} in security:
                    security.append({scheme: []})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
