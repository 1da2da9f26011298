"""A task row as the database gives it, for tests of the CalDAV writers that take rows."""

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 12, 6, 10, 30, 15, 123456, tzinfo=UTC)
TASK_ROW: dict[str, Any] = {
    "id": 7,
    "user_id": "alice",
    "list_id": None,
    "parent_id": None,
    "version": 3,
    "position": "i8E9NQxpzXEfE",
    "title": "Buy milk",
    "description": None,
    "completed": False,
    "completed_at": None,
    "priority": 0,
    "tags": [],
    "recurrence": None,
    "recurrence_interval": 1,
    "due_date": None,
    "due_at": None,
    "reminders": [],
    "created_at": NOW,
    "updated_at": NOW,
}
