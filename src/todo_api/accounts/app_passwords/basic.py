"""Who an app password names: HTTP Basic (`authenticate_basic`, for CalDAV and the REST API)
and the calendar feed's token (`authenticate_feed`).

A failed attempt counts against the sign-in throttle exactly as a failed sign-in does (the
account's key is the username sent, lowercased), and while the throttle holds a caller back
their failures answer 429. A right app password is let in without asking the throttle: the
throttle is there to slow guessing, and 150 random bits cannot be guessed, so asking it would
only cost every request of a CalDAV client its reads, and let somebody who fails on purpose
stop the owner's clients from syncing. A success does not clear the account's failures, as a
sign-in does: that would be a write on every request.
"""

import base64
import binascii
from datetime import timedelta
from typing import TypeGuard

from todo_api.accounts.app_passwords import repository
from todo_api.accounts.app_passwords.errors import BasicAuthFailed, FeedNotFound, ReadOnlyPassword
from todo_api.accounts.app_passwords.scopes import Scope, parse
from todo_api.accounts.app_passwords.secret import digest
from todo_api.accounts.throttle import LoginThrottle
from todo_api.accounts.tokens import Principal
from todo_api.core.clock import utcnow
from todo_api.core.database import Row, Store
from todo_api.core.state import AppState

# A password's last use is recorded at most this often: Basic clients send it on every request.
LAST_USED_PRECISION = timedelta(minutes=1)
# Where no client address is known, failures share this one.
UNKNOWN_ADDRESS = "unknown"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_LONGEST_FIELD = 1000


def is_basic(authorization: str | None) -> TypeGuard[str]:
    """Whether an Authorization header uses the Basic scheme."""
    return authorization is not None and authorization.lstrip()[:6].lower() == "basic "


def _credentials(authorization: str) -> tuple[str, str] | None:
    """The username and password of a Basic header, or None when it is not one."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon or not username or not password or "\x00" in decoded:
        return None
    if len(username) > _LONGEST_FIELD or len(password) > _LONGEST_FIELD:
        return None
    return username.strip(), password


def _names(row: Row) -> set[str]:
    return {row["user_id"].lower(), *(row[name] for name in ("email", "own_email") if row[name])}


async def _verify(state: AppState, username: str, secret: str, ip: str) -> Row:
    """The app password `secret` is, if it belongs to `username` (a user id or email); the
    throttle counts a failure otherwise."""
    account = username.lower()
    db = state.get(Store).db
    row = await repository.by_digest(db, digest(secret))
    if row is None or account not in _names(row):
        throttle = state.get(LoginThrottle)
        await throttle.check(account, ip)
        await throttle.failed(account, ip)
        raise BasicAuthFailed()
    now = utcnow()
    last_used = row["last_used_at"]
    if last_used is None or now - last_used >= LAST_USED_PRECISION:
        await repository.touch(db, row["id"], now, now - LAST_USED_PRECISION)
    return row


def _principal(row: Row) -> Principal:
    return Principal(user_id=row["user_id"], name=row["user_name"])


async def _basic(state: AppState, authorization: str | None, ip: str | None) -> Row:
    if authorization is None or not authorization.strip():
        # Not a failure: clients send their first request without credentials, to be asked.
        raise BasicAuthFailed("Not authenticated")
    credentials = _credentials(authorization)
    if credentials is None:
        await state.get(LoginThrottle).failed(None, ip or UNKNOWN_ADDRESS)
        raise BasicAuthFailed(
            "The Authorization header must be Basic base64(username:app password)"
        )
    return await _verify(state, *credentials, ip or UNKNOWN_ADDRESS)


async def authenticate_basic(
    state: AppState, authorization: str | None, scope: str, *, ip: str | None = None
) -> Principal:
    """The user an `Authorization: Basic base64(username:app password)` header names (the
    username is their id, or their email in any case), when the password has `scope`.

    BasicAuthFailed (a 401 asking for Basic) when the header is missing or malformed, the
    password wrong, revoked or not the username's, or without `scope`; TooManyAttempts (429)
    while the sign-in throttle holds the username or the address back. `ip` is the client's
    address, as the throttle counts failures by it: pass `request.client.host`.
    """
    row = await _basic(state, authorization, ip)
    if scope not in parse(row["scopes"]):
        raise BasicAuthFailed(f"This app password is not valid here: it lacks the {scope!r} scope")
    return _principal(row)


async def authenticate_api(
    state: AppState, authorization: str, method: str, *, ip: str | None
) -> Principal:
    """The REST API's caller an app password names: `read` lets them read (GET, HEAD),
    `read` and `write` do everything; ReadOnlyPassword (403) for a write with a read-only
    password, BasicAuthFailed for a password of another purpose (caldav, feed)."""
    row = await _basic(state, authorization, ip)
    scopes = parse(row["scopes"])
    if Scope.read not in scopes:
        raise BasicAuthFailed("This app password is not valid for the REST API")
    if method not in _SAFE_METHODS and Scope.write not in scopes:
        raise ReadOnlyPassword()
    return _principal(row)


async def authenticate_feed(state: AppState, user_id: str, token: str, ip: str) -> Principal:
    """The owner of a calendar feed, when `token` is a `feed` app password of `user_id`'s;
    FeedNotFound (404) otherwise, never saying whether the token is somebody else's. Failures
    count against the sign-in throttle as Basic's do (TooManyAttempts)."""
    try:
        row = await _verify(state, user_id, token, ip)
    except BasicAuthFailed:
        raise FeedNotFound() from None
    if Scope.feed not in parse(row["scopes"]):
        raise FeedNotFound()
    return _principal(row)
