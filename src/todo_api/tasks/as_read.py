"""Writes worked out from a task as read: the row a toggle, an edit or a delete leaves, known
before the write, and the statement that writes it only while the stored row is still at the
version read (every write of a task moves its version on), so that its change can be logged in
the same statement (`Store.apply`). A test per kind of edit pins the change logged this way to
what reading the task gives afterwards.
"""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Text, bindparam, delete, update

from todo_api.core.database import Rows
from todo_api.tasks import actor
from todo_api.tasks.models import TaskRow
from todo_api.tasks.repository import (
    EXPECTED_VERSION,
    NOW,
    TASK,
    THIS_TASK,
    identity,
    update_statement,
)

# A toggle worked out from the task as read (`toggled`): written only while the task is still
# at the version read (every write of a task moves its version on).
_TOGGLE_AS_READ = Rows[TaskRow](
    update(TASK)
    .where(THIS_TASK, EXPECTED_VERSION)
    .values(
        completed=bindparam("completed"),
        completed_at=bindparam("completed_at", type_=TASK.c.completed_at.type),
        completed_by=bindparam("completed_by", type_=Text),
        updated_at=NOW,
        version=bindparam("version"),
    )
    .returning(*TASK.c)
)
# A task deleted only while it is still at the version read (`delete_as_read`).
_DELETE_AS_READ = Rows[TaskRow](
    delete(TASK).where(THIS_TASK, EXPECTED_VERSION).returning(TASK.c.id)
)


def updated(task: TaskRow, changes: dict[str, Any], now: datetime) -> TaskRow:
    """The task as writing `changes` (columns by name) at `now` leaves it, worked out from the
    row as read, as `update_fields` writes them."""
    after = cast(TaskRow, {**task, **changes})
    completed = changes.get("completed", task["completed"])
    if "completed_at" not in changes and completed != task["completed"]:
        after["completed_at"] = now if completed else None
        after["completed_by"] = (actor.current() or task["user_id"]) if completed else None
    after["updated_at"] = now
    after["version"] = task["version"] + 1
    return after


def update_as_read(
    task: TaskRow, changes: dict[str, Any], now: datetime
) -> tuple[Rows[TaskRow], dict[str, Any]]:
    """The statement that writes `changes` at `now` over `task` while the stored row is still
    its version (it returns no row once it is not), and its parameters."""
    params = {f"new_{name}": value for name, value in changes.items()}
    params |= identity(task) | {"now": now, "expected_version": task["version"]}
    params["actor"] = actor.current()
    return update_statement(frozenset(changes), True), params


def toggled(task: TaskRow, now: datetime) -> TaskRow:
    """The task as a toggle at `now` leaves it, worked out from the row as read."""
    after = task.copy()
    completing = not task["completed"]
    after["completed"] = completing
    after["completed_at"] = now if completing else None
    after["completed_by"] = (actor.current() or task["user_id"]) if completing else None
    after["updated_at"] = now
    after["version"] = task["version"] + 1
    return after


def toggle_as_read(task: TaskRow, after: TaskRow) -> tuple[Rows[TaskRow], dict[str, Any]]:
    """The statement that writes `after` (`toggled(task, …)`) over `task`, while the stored
    row is still `task`'s version (it returns no row once it is not), and its parameters."""
    params = identity(task) | {
        "expected_version": task["version"],
        "completed": after["completed"],
        "completed_at": after["completed_at"],
        "completed_by": after["completed_by"],
        "now": after["updated_at"],
        "version": after["version"],
    }
    return _TOGGLE_AS_READ, params


def delete_as_read(task: TaskRow) -> tuple[Rows[TaskRow], dict[str, Any]]:
    """The statement that deletes `task` while the stored row is still its version (it
    returns no row once it is not), and its parameters."""
    return _DELETE_AS_READ, identity(task) | {"expected_version": task["version"]}
