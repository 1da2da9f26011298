"""Firing reminders when they are due: once, whichever process or worker gets there first.

A round locks the tasks with a reminder due (`next_reminder_at`), skipping those another
transaction holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time),
marks the due reminders fired and moves `next_reminder_at` on. What firing means is written in
that same transaction: the `reminder.due` change in the owner's log (which their streams and
webhooks follow) and the email to send. So a reminder fires exactly once: two rounds cannot
both hold the task, and a round that rolls back leaves it due for the next. The webhook and
the email then go out at least once, from their outboxes.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import bindparam, func, insert, select, update

from todo_api.background import Job
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.models import ReminderEmail, TaskRow, table_of, utcnow
from todo_api.schemas.tasks import task_json
from todo_api.services import changes
from todo_api.services.changes import NewChange
from todo_api.services.reminders import fire_due, next_fire_at
from todo_api.services.task_repository import TASK
from todo_api.services.users import PLACEHOLDER_EMAIL_DOMAIN, USER

logger = logging.getLogger(__name__)

EVENT = "reminder.due"
BATCH_SIZE = 100
EMAIL = table_of(ReminderEmail)

_DUE = (
    select(TASK)
    .where(TASK.c.next_reminder_at <= bindparam("now", type_=TASK.c.next_reminder_at.type))
    .order_by(TASK.c.next_reminder_at)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True)
)
# The version moves (the task JSON shows `fired_at`), `updated_at` does not: nobody edited it.
_FIRED = (
    update(TASK)
    .where(TASK.c.id == bindparam("task_id"))
    .values(
        reminders=bindparam("new_reminders", type_=TASK.c.reminders.type),
        next_reminder_at=bindparam("next_at", type_=TASK.c.next_reminder_at.type),
        version=TASK.c.version + 1,
    )
    .returning(*TASK.c)
)
_EMAIL = select(USER.c.email).where(USER.c.id == bindparam("owner"))
_QUEUE_EMAIL = insert(EMAIL).values(
    task_id=bindparam("task_id"),
    late=bindparam("late"),
    status="pending",
    attempts=0,
    next_attempt_at=bindparam("now", type_=EMAIL.c.next_attempt_at.type),
)
_NEXT = select(func.min(TASK.c.next_reminder_at)).where(TASK.c.next_reminder_at.is_not(None))


def has_address(email: str | None) -> bool:
    """Whether the user's email can receive mail (not the stand-in of a token without one)."""
    return bool(email) and not str(email).endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)


class ReminderWorker(Job):
    """Fires due reminders, waiting until the next one (or the next poll)."""

    name = "Reminders"
    # Woken by every write (most writes set no reminder): a longer window makes a busy moment's
    # writes cost one round.
    wake_window_seconds = 0.1

    def __init__(
        self, db: Database, settings: Settings, fired: Callable[[], None] = lambda: None
    ) -> None:
        super().__init__(settings.jobs_poll_seconds)
        self._db = db
        self._late = timedelta(seconds=settings.reminder_late_seconds)
        self._email = bool(settings.smtp_url and settings.smtp_from)
        self._fired = fired

    async def round(self) -> float:
        if await self.fire_due() >= BATCH_SIZE:
            return 0
        upcoming: datetime | None = await self._db.scalar(_NEXT)
        if upcoming is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, (upcoming - utcnow()).total_seconds()))

    async def fire_due(self) -> int:
        """Fire the reminders due now; how many this worker fired."""
        now = utcnow()
        fired_count = late_count = 0
        async with self._db.transaction() as tx:
            due = await tx.fetch_all(_DUE, {"now": now, "batch": BATCH_SIZE})
            # Tasks in one order: two workers firing reminders of the same tasks lock their
            # rows in the same order, and cannot deadlock.
            for task in sorted(due, key=lambda row: (row["user_id"], row["id"])):
                reminders, fired = fire_due(task["reminders"], now, self._late)
                params = {
                    "task_id": task["id"],
                    "new_reminders": reminders,
                    "next_at": next_fire_at(reminders),
                }
                changed = await tx.fetch_one(_FIRED, params)
                assert changed is not None  # the row is locked
                if fired:
                    late = any(r["late"] for r in fired)
                    await self._announce(tx, cast(TaskRow, changed), now, late=late)
                fired_count += len(fired)
                late_count += sum(1 for r in fired if r["late"])
        if fired_count:
            logger.info("Fired %d reminders (%d late)", fired_count, late_count)
            self._fired()
        return fired_count

    async def _announce(self, tx: Database, task: TaskRow, now: datetime, *, late: bool) -> None:
        # In the owner's log, so it reaches their streams and (through the log) their
        # webhooks; the task shows which reminder fired.
        body = task_json(task).decode()
        await changes.record(tx, task["user_id"], [NewChange(EVENT, task["id"], body, now)])
        if self._email and has_address(await tx.scalar(_EMAIL, {"owner": task["user_id"]})):
            await tx.execute(_QUEUE_EMAIL, {"task_id": task["id"], "late": late, "now": now})
