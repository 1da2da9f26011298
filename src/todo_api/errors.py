"""The errors the service answers with: one base class carries status, detail and headers.

Services, dependencies and the database layer raise these; `api_error_handler`, installed once
by `main.create_app`, turns any of them into `{"detail": …}` with its status and headers. The
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


class Unauthorized(ApiError):
    """No valid bearer token: the client is told to send one."""

    status_code = 401
    default_detail = "Not authenticated"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer"})


class InvalidCredentials(Unauthorized):
    """No account with this email and password."""

    default_detail = "Incorrect email or password"


class Forbidden(ApiError):
    """The path names another user."""

    status_code = 403
    default_detail = "Not authorized to access this user's tasks"


class TaskNotFound(ApiError):
    """No task with that id belongs to the caller (it may belong to somebody else)."""

    status_code = 404
    default_detail = "Task not found"

    def __init__(self, task_id: int) -> None:
        super().__init__()
        self.task_id = task_id


class WebhookNotFound(ApiError):
    """No webhook with that id belongs to the caller."""

    status_code = 404
    default_detail = "Webhook not found"

    def __init__(self, webhook_id: int) -> None:
        super().__init__()
        self.webhook_id = webhook_id


class Conflict(ApiError):
    """The request contradicts what is stored."""

    status_code = 409


class IdempotentTaskDeleted(Conflict):
    """A retry whose Idempotency-Key created a task that has been deleted since."""

    default_detail = "The task this Idempotency-Key created has been deleted since"


class TaskLimitReached(Conflict):
    """The user already holds as many tasks as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Task limit reached: one user may hold at most {limit} tasks")
        self.limit = limit


class WebhookLimitReached(Conflict):
    """The user already has as many webhooks as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Webhook limit reached: one user may have at most {limit} webhooks")
        self.limit = limit


class EmailTaken(Conflict):
    """Another user already has this email."""

    default_detail = "An account with this email already exists"


class PreconditionFailed(ApiError):
    """`If-Match` named a version the task no longer has: nothing was changed."""

    status_code = 412
    default_detail = "The task has changed since it was read (If-Match does not match its ETag)"

    def __init__(self, task_id: int) -> None:
        super().__init__()
        self.task_id = task_id


class Unprocessable(ApiError):
    """Well-formed, but not acceptable."""

    status_code = 422


class IdempotencyKeyReused(Unprocessable):
    """An `Idempotency-Key` came back with a different request body."""

    default_detail = "This Idempotency-Key was already used with a different request body"


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


class UnsafeWebhookUrl(FieldRefused):
    """The URL may not receive webhooks: not https in production, or not a public address."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__("url", f"This URL cannot receive webhooks: {reason}", url)


class RemindersNeedDueTime(FieldRefused):
    """A reminder with `before_minutes` on a task without `due_at` (or losing it)."""

    def __init__(self) -> None:
        super().__init__("reminders", "Reminders with before_minutes need the task's due_at")


class WeakPassword(Unprocessable):
    """The password is too short or too common; `reason` says which.

    Answered in the shape of pydantic's own errors, so that every 422 has the one declared shape.
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
        # No `input`: a 422 never echoes a password.
        self.detail = [{"type": "value_error", "loc": ["body", "password"], "msg": reason}]

    def __str__(self) -> str:
        return self.reason


class TooManyRequests(ApiError):
    """Over a rate limit; `Retry-After` says in how many seconds the client may try again."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, {"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class TooManyAttempts(TooManyRequests):
    """Too many failed sign-ins for this account from this address, or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed attempts; try again later", retry_after)


class TooManySignUps(TooManyRequests):
    """This address has made as many accounts as it may for now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many sign-ups from this address; try again later", retry_after)


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
