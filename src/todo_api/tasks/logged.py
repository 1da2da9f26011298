"""What a task's writes put in the change log: its owner's, and the members' of its list.

Each change carries the task's JSON as clients see it right after the write (`views.task_json`),
written once and served as it is by `/changes`, the event streams and webhooks.
"""

from datetime import datetime
from typing import Any

from todo_api.core.clock import utcnow
from todo_api.core.database import Change, NewRecord
from todo_api.tasks.events import KIND, TaskEvent
from todo_api.tasks.models import TaskRow
from todo_api.tasks.views import SHOWN_COLUMNS, task_json


def _json(task: TaskRow) -> str:
    return task_json(task.copy()).decode()  # a copy: task_json changes the row it writes


def created(values: dict[str, Any], now: datetime) -> NewRecord:
    """The change that logs a task about to be inserted with `values` (the table's columns, as
    `repository.create` takes them) at `now`."""
    stored = {
        "id": 0,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "subtask_count": 0,
        "completed_subtask_count": 0,
    }
    shown: Any = {name: stored.get(name, values.get(name)) for name in SHOWN_COLUMNS}
    feeds = (values["user_id"],)
    return NewRecord(KIND, TaskEvent.created, _json(shown), now, feeds, values["list_id"])


def updated(task: TaskRow) -> Change:
    """The change that logs a task's new state (from its row as stored)."""
    feeds = (task["user_id"],)
    return Change(
        KIND, TaskEvent.updated, task["id"], _json(task), task["updated_at"], feeds, task["list_id"]
    )


def reminder_due(task: TaskRow, recipient: str, at: datetime) -> tuple[Change, ...]:
    """The changes of a task whose reminders went off: `reminder.due` for whom they remind,
    and, in a shared list, first the task's new state (its reminders' `fired_at`) for everyone
    who sees it (a member who set them gets both)."""
    due = Change(KIND, TaskEvent.reminder_due, task["id"], _json(task), at, (recipient,))
    if task["list_id"] is None:
        return (due,)  # the Inbox: the owner is the only one who sees it, and set them
    others = () if recipient == task["user_id"] else (task["user_id"],)
    seen = Change(KIND, TaskEvent.updated, task["id"], due.data, at, others, task["list_id"])
    return seen, due


def deleted(
    user_id: str, task_id: int, at: datetime | None = None, list_id: int | None = None
) -> Change:
    """The tombstone of a deleted task (of the list `list_id`, whose members get it too)."""
    return Change(KIND, TaskEvent.deleted, task_id, None, at or utcnow(), (user_id,), list_id)


def gone(feeds: tuple[str, ...], task_id: int, at: datetime) -> Change:
    """The tombstone of a task that left what `feeds` see (moved out of a shared list)."""
    return Change(KIND, TaskEvent.deleted, task_id, None, at, feeds)
