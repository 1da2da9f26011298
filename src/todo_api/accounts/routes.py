"""Accounts: the caller's profile (every token mode) and the service's own sign-up and sign-in."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import TypeAdapter, ValidationError

from todo_api.accounts import email_verification
from todo_api.accounts import service as accounts
from todo_api.accounts.dependencies import (
    CurrentUser,
    LoginThrottleDep,
    MailerDep,
    VerifierDep,
    client_ip,
)
from todo_api.accounts.errors import InvalidCredentials, MailNotConfigured, NothingToVerify
from todo_api.accounts.schemas import Password, SignedIn, SignIn, SignInEmail, SignUp, UserRead
from todo_api.accounts.verifier import TokenVerifier
from todo_api.core.config import Settings
from todo_api.core.database import Row
from todo_api.core.errors import Unauthorized
from todo_api.core.http.messages import ErrorDetail, Message
from todo_api.core.http.openapi import DocumentEdit
from todo_api.core.http.responses import Responses
from todo_api.core.state import SettingsDep, StoreDep

router = APIRouter(tags=["auth"])
# Mounted only when ACCOUNTS_ENABLED (the default): otherwise these paths are 404.
accounts_router = APIRouter(tags=["auth"])

TOKEN_URL = "/api/auth/token"
# Offered in the OpenAPI document beside the bearer scheme (see `document_edits`).
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
async def read_me(caller: CurrentUser, store: StoreDep) -> UserRead:
    """The caller's profile, whichever kind of token they signed in with."""
    user = await accounts.get_profile(store.db, caller.user_id)
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
    store: StoreDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
    mailer: MailerDep,
    later: BackgroundTasks,
) -> SignedIn:
    """Create an account; returns a token and the user it belongs to. When the server sends
    mail, the address gets a link to confirm it is theirs: until it is opened, no reminder is
    mailed there."""
    user = await accounts.sign_up(store.db, data, settings, client_ip(request), throttle)
    if mailer is not None:
        await throttle.link_sent(user["id"])
        base_url = str(request.base_url)
        later.add_task(
            email_verification.send_link, store.db, mailer, user["id"], data.email, base_url
        )
    return _signed_in(user, settings, verifier)


@accounts_router.post(
    "/verify-email/send",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        401: {"model": ErrorDetail},
        409: {"model": ErrorDetail, "description": "No address is waiting to be verified"},
        429: {"model": ErrorDetail, "description": "Too many links sent; see Retry-After"},
        404: {"model": ErrorDetail, "description": "This server sends no mail"},
    },
)
async def send_verification_link(
    caller: CurrentUser,
    request: Request,
    store: StoreDep,
    throttle: LoginThrottleDep,
    mailer: MailerDep,
    later: BackgroundTasks,
) -> Message:
    """Mail the caller's own-account address a new link to confirm it (earlier links stop
    working); a few an hour at most."""
    if mailer is None:
        raise MailNotConfigured()
    address = await email_verification.address_to_verify(store.db, caller.user_id)
    if address is None:
        raise NothingToVerify()
    await throttle.check_link(caller.user_id)
    await throttle.link_sent(caller.user_id)
    base_url = str(request.base_url)
    later.add_task(
        email_verification.send_link, store.db, mailer, caller.user_id, address, base_url
    )
    return Message(message="A new link is on its way")


@accounts_router.get(
    "/verify-email",
    responses={404: {"model": ErrorDetail, "description": "Unknown, used or expired link"}},
)
async def verify_email(
    token: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")],
    store: StoreDep,
) -> Message:
    """Open the link mailed to an own account's address: the address is confirmed as theirs.
    A link works once, for a day."""
    await email_verification.confirm(store.db, token)
    return Message(message="Your email address is confirmed")


@accounts_router.post("/sign-in", responses=_CREDENTIAL_ERRORS)
async def sign_in(
    data: SignIn,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    verifier: VerifierDep,
    throttle: LoginThrottleDep,
) -> SignedIn:
    """Exchange an email and password for a token; the answer names the user it belongs to."""
    user = await accounts.authenticate(
        store.db, data.email, data.password, client_ip(request), throttle
    )
    return _signed_in(user, settings, verifier)


@accounts_router.post("/token", responses=_CREDENTIAL_ERRORS)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    store: StoreDep,
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
    user = await accounts.authenticate(store.db, email, form.password, client_ip(request), throttle)
    return _signed_in(user, settings, verifier)


def _signed_in(user: Row, settings: Settings, verifier: TokenVerifier) -> SignedIn:
    signer = verifier.shared_secret
    assert signer is not None  # accounts on → the shared-secret mode is on
    token = accounts.access_token(
        user, signer=signer, expires_in=settings.access_token_expire_seconds
    )
    return SignedIn(**token.model_dump(), user=accounts.user_read(user))


def document_edits(settings: Settings) -> list[DocumentEdit]:
    """What the accounts add to the OpenAPI document: with the service's own accounts on, the
    OAuth2 password flow beside the bearer scheme, so that the docs page's "Authorize" button
    can sign in (requests are still read by the one bearer dependency), and the configured
    minimum length of a new password."""
    if not settings.accounts_enabled:
        return []
    minimum = settings.password_min_length
    return [_offer_password_flow, lambda schema: _state_password_minimum(schema, minimum)]


def _offer_password_flow(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    flow = PASSWORD_FLOW
    schemes[flow.scheme_name] = jsonable_encoder(flow.model, by_alias=True, exclude_none=True)
    for path in schema["paths"].values():
        for operation in path.values():
            security = operation.get("security", [])
            if {"HTTPBearer": []} in security:
                security.append({flow.scheme_name: []})


def _state_password_minimum(schema: dict[str, Any], minimum: int) -> None:
    # A setting, enforced by the password policy rather than the model: the document states
    # it, so that schema-driven clients and fuzzers know what a sign-up needs.
    schema["components"]["schemas"]["SignUp"]["properties"]["password"]["minLength"] = minimum
