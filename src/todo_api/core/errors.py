"""The errors the service answers with: one base class carries status, detail and headers.

Services, dependencies and the database layer raise these (each domain subclasses them for its
own failures: `TaskNotFound`, `EmailTaken`, …); `api_error_handler`, installed once by
`main.create_app`, turns any of them into `{"detail": …}` with its status and headers. The
errors FastAPI raises itself (422 for invalid requests, 405, its HTTPException) keep FastAPI's
own handlers.
"""

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)

# How long clients should wait before retrying a service that is briefly unavailable.
RETRY_UNAVAILABLE_SECONDS = 5


class ApiError(Exception):
    """An answer other than success: `status_code`, a `detail` for the body, and headers."""

    status_code: ClassVar[int] = 500
    default_detail: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str | None = None, headers: Mapping[str, str] | None = None):
        self.detail: Any = detail if detail is not None else self.default_detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.detail)


# What a 401 asks for: a bearer token (the API's own), or HTTP Basic (app passwords).
BEARER_CHALLENGE = "Bearer"
BASIC_CHALLENGE = 'Basic realm="todo-api", charset="UTF-8"'


class Unauthorized(ApiError):
    """No valid credentials: the client is told which scheme to send (`challenge`)."""

    status_code = 401
    default_detail = "Not authenticated"

    def __init__(self, detail: str | None = None, challenge: str = BEARER_CHALLENGE) -> None:
        super().__init__(detail, {"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    """The path names another user."""

    status_code = 403
    default_detail = "Not authorized to access this user's tasks"


class Conflict(ApiError):
    """The request contradicts what is stored."""

    status_code = 409


class NotFound(ApiError):
    """No such record belongs to the caller (it may belong to somebody else)."""

    status_code = 404
    default_detail = "Not found"


class PreconditionFailed(ApiError):
    """`If-Match` named a version the record no longer has: nothing was changed."""

    status_code = 412

    def __init__(self, kind: str, record_id: int) -> None:
        super().__init__(
            f"The {kind} has changed since it was read (If-Match does not match its ETag)"
        )
        self.record_id = record_id


class Unprocessable(ApiError):
    """Well-formed, but not acceptable."""

    status_code = 422


class FieldRefused(Unprocessable):
    """A body field of the right shape, refused by a rule the schema cannot state; answered
    in the shape of pydantic's own errors, as every 422 is."""

    def __init__(self, field: str, reason: str, value: object = None) -> None:
        super().__init__()
        self.reason = reason
        self.detail = [
            {"type": "value_error", "loc": ["body", field], "msg": reason, "input": value}
        ]

    def __str__(self) -> str:
        return self.reason


class TooManyRequests(ApiError):
    """Over a rate limit; `Retry-After` says in how many seconds the client may try again."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, {"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    """The service cannot answer right now; clients retry after `Retry-After` seconds."""

    status_code = 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"Retry-After": str(RETRY_UNAVAILABLE_SECONDS)})


class DatabaseError(ServiceUnavailable):
    """A failure of the database's, answered with this class's `default_detail`.

    `reason` is the driver's message: logged, never sent to clients.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(self.default_detail)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached (down, restarting, or the network is)."""

    default_detail = "The database is unavailable; try again shortly"


class DatabaseConflict(DatabaseError):
    """The database rolled this transaction back to break a deadlock with another one; the
    same request again goes through (the other has finished by then)."""

    default_detail = "The request collided with another one; try again"


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The one answer to every ApiError."""
    assert isinstance(exc, ApiError)
    if isinstance(exc, DatabaseUnavailable):
        logger.error(
            "Database unavailable on %s %s: %s", request.method, request.url.path, exc.reason
        )
    elif isinstance(exc, DatabaseConflict):
        logger.warning("Deadlock on %s %s: %s", request.method, request.url.path, exc.reason)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
