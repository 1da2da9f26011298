"""Errors: every ApiError is answered by the one handler with its status, detail and headers."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from todo_api.accounts.errors import EmailTaken, InvalidCredentials, TooManyAttempts, WeakPassword
from todo_api.core.errors import (
    ApiError,
    DatabaseConflict,
    DatabaseUnavailable,
    Forbidden,
    PreconditionFailed,
    TooManyRequests,
    Unauthorized,
    api_error_handler,
)
from todo_api.notifications.webhooks.errors import (
    UnsafeWebhookUrl,
    WebhookLimitReached,
    WebhookNotFound,
)
from todo_api.tasks.errors import (
    IdempotencyKeyReused,
    RemindersNeedDueTime,
    TaskLimitReached,
    TaskNotFound,
)

CASES: list[tuple[ApiError, int, object, dict[str, str]]] = [
    (Unauthorized(), 401, "Not authenticated", {"www-authenticate": "Bearer"}),
    (InvalidCredentials(), 401, "Incorrect email or password", {"www-authenticate": "Bearer"}),
    (Forbidden(), 403, "Not authorized to access this user's tasks", {}),
    (TaskNotFound(7), 404, "Task not found", {}),
    (
        TaskLimitReached(3),
        409,
        "Task limit reached: one user may hold at most 3 tasks",
        {},
    ),
    (EmailTaken(), 409, "An account with this email already exists", {}),
    (WebhookNotFound(3), 404, "Webhook not found", {}),
    (
        WebhookLimitReached(10),
        409,
        "Webhook limit reached: one user may have at most 10 webhooks",
        {},
    ),
    (
        UnsafeWebhookUrl("it is on a private address", "http://10.0.0.1/"),
        422,
        [
            {
                "type": "value_error",
                "loc": ["body", "url"],
                "msg": "This URL cannot receive webhooks: it is on a private address",
                "input": "http://10.0.0.1/",
            }
        ],
        {},
    ),
    (
        RemindersNeedDueTime(),
        422,
        [
            {
                "type": "value_error",
                "loc": ["body", "reminders"],
                "msg": "Reminders with before_minutes need the task's due_at",
                "input": None,
            }
        ],
        {},
    ),
    (
        PreconditionFailed("task", 7),
        412,
        "The task has changed since it was read (If-Match does not match its ETag)",
        {},
    ),
    (
        IdempotencyKeyReused(),
        422,
        "This Idempotency-Key was already used with a different request body",
        {},
    ),
    (
        WeakPassword("Password is too common; choose another one"),
        422,
        [
            {
                "type": "value_error",
                "loc": ["body", "password"],
                "msg": "Password is too common; choose another one",
            }
        ],
        {},
    ),
    (TooManyRequests("slow down", 12), 429, "slow down", {"retry-after": "12"}),
    (
        TooManyAttempts(60),
        429,
        "Too many failed attempts; try again later",
        {"retry-after": "60"},
    ),
    (
        DatabaseUnavailable("connection refused"),
        503,
        "The database is unavailable; try again shortly",
        {"retry-after": "5"},
    ),
    (
        DatabaseConflict("deadlock detected"),
        503,
        "The request collided with another one; try again",
        {"retry-after": "5"},
    ),
]


@pytest.mark.parametrize(("error", "status", "detail", "headers"), CASES)
def test_an_api_error_is_answered_with_its_status_detail_and_headers(
    error: ApiError, status: int, detail: object, headers: dict[str, str]
) -> None:
    app = FastAPI()
    app.add_exception_handler(ApiError, api_error_handler)

    @app.get("/")
    async def fail() -> None:
        raise error

    response = TestClient(app).get("/")
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    for name, value in headers.items():
        assert response.headers[name] == value


@pytest.mark.parametrize(
    "error",
    [
        DatabaseUnavailable("password authentication failed for user postgres"),
        DatabaseConflict('deadlock detected: process 42 waits for a password of "user"'),
    ],
)
def test_a_database_error_sends_no_driver_message(error: ApiError) -> None:
    app = FastAPI()
    app.add_exception_handler(ApiError, api_error_handler)

    @app.get("/")
    async def fail() -> None:
        raise error

    text = TestClient(app).get("/").text
    assert "password" not in text and "process" not in text
