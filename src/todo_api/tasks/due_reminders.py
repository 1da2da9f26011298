"""Firing reminders, the task side: mark the due ones fired on their tasks, once, and log it.

A round locks the tasks with a reminder due (`next_reminder_at`), skipping those another
transaction holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time),
marks the due reminders fired, moves `next_reminder_at` on and records `reminder.due` in the
owner's log (which their streams and webhooks follow), all in the caller's unit of work. Two
rounds cannot both hold a task, and a round that rolls back leaves it due for the next: a
reminder fires exactly once.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypedDict

from sqlalchemy import bindparam, func, select, update

from todo_api.core.database import Database, Rows, UnitOfWork
from todo_api.tasks import logged
from todo_api.tasks.models import TaskRow
from todo_api.tasks.reminders import fire_due, next_fire_at
from todo_api.tasks.repository import TASK
from todo_api.tasks.sharing import access


class ReminderSubject(TypedDict):
    """What a reminder's message tells of its task."""

    id: int
    user_id: str
    title: str
    due_at: datetime | None
    due_date: date | None


_DUE = Rows[TaskRow](
    select(TASK)
    .where(TASK.c.next_reminder_at <= bindparam("now", type_=TASK.c.next_reminder_at.type))
    .order_by(TASK.c.next_reminder_at)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True)
)
# The version moves (the task JSON shows `fired_at`), `updated_at` does not: nobody edited it.
_FIRED = Rows[TaskRow](
    update(TASK)
    .where(TASK.c.id == bindparam("task_id"))
    .values(
        reminders=bindparam("new_reminders", type_=TASK.c.reminders.type),
        next_reminder_at=bindparam("next_at", type_=TASK.c.next_reminder_at.type),
        version=TASK.c.version + 1,
    )
    .returning(*TASK.c)
)
_NEXT = select(func.min(TASK.c.next_reminder_at)).where(TASK.c.next_reminder_at.is_not(None))
_SUBJECT = Rows[ReminderSubject](
    select(TASK.c.id, TASK.c.user_id, TASK.c.title, TASK.c.due_at, TASK.c.due_date).where(
        TASK.c.id == bindparam("task_id")
    )
)


@dataclass(frozen=True, slots=True)
class Fired:
    """A task whose reminders went off: the task after firing, how many, how many late, and
    whom they remind (who set them)."""

    task: TaskRow
    count: int
    late: int
    recipient: str


async def fire_due_reminders(
    uow: UnitOfWork, now: datetime, batch: int, late_after: timedelta
) -> list[Fired]:
    """Fire the reminders due by `now` on up to `batch` tasks, in the unit of work `uow`; the
    tasks that had some."""
    due = await uow.db.fetch_all(_DUE, {"now": now, "batch": batch})
    result = []
    # Tasks in one order: two workers firing reminders of the same tasks lock their rows in the
    # same order, and cannot deadlock.
    for task in sorted(due, key=lambda row: (row["user_id"], row["id"])):
        reminders, fired = fire_due(task["reminders"], now, late_after)
        params = {
            "task_id": task["id"],
            "new_reminders": reminders,
            "next_at": next_fire_at(reminders),
        }
        changed = await uow.db.fetch_one(_FIRED, params)
        assert changed is not None  # the row is locked
        if fired:
            recipient = await _recipient(uow.db, changed)
            uow.record(*logged.reminder_due(changed, recipient, now))
            late = sum(1 for reminder in fired if reminder["late"])
            result.append(Fired(changed, len(fired), late, recipient))
    return result


async def _recipient(db: Database, task: TaskRow) -> str:
    """Whom the task's reminders remind: who set them, while they still see the task (a
    member may have left its list since); else its owner."""
    setter = task.get("reminders_by") or task["user_id"]
    if setter != task["user_id"] and not await access.sees(db, setter, task):
        return task["user_id"]
    return setter


async def next_reminder_at(db: Database) -> datetime | None:
    """When the earliest unfired reminder of any task goes off."""
    upcoming: datetime | None = await db.scalar(_NEXT)
    return upcoming


async def reminder_subject(db: Database, task_id: int) -> ReminderSubject | None:
    """What a reminder's message says of its task; None once the task is gone."""
    return await db.fetch_one(_SUBJECT, {"task_id": task_id})
