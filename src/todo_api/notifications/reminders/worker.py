"""The reminder worker: fires due reminders once, whichever process or worker gets there first.

Each round is one unit of work: the tasks domain marks the due reminders fired on their
(locked) tasks and logs `reminder.due` in the owners' change logs, which their streams and
webhooks follow; the emails to send are queued in that same transaction. A round that rolls
back leaves the reminders due for the next, so a reminder fires exactly once; its webhook and
email then go out at least once, from their outboxes.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import bindparam, insert

from todo_api import accounts, tasks
from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Store, table_of
from todo_api.core.jobs import Job
from todo_api.core.mail import SmtpMailer
from todo_api.notifications.reminders.models import ReminderEmail

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
EMAIL = table_of(ReminderEmail)

_QUEUE_EMAIL = insert(EMAIL).values(
    task_id=bindparam("task_id"),
    recipient=bindparam("to"),
    late=bindparam("late"),
    status="pending",
    attempts=0,
    next_attempt_at=bindparam("now", type_=EMAIL.c.next_attempt_at.type),
)


class ReminderWorker(Job):
    """Fires due reminders, waiting until the next one (or the next poll)."""

    name = "Reminders"
    # Woken by every write (most writes set no reminder): a longer window makes a busy moment's
    # writes cost one round.
    wake_window_seconds = 0.1

    def __init__(
        self, store: Store, settings: Settings, fired: Callable[[], None] = lambda: None
    ) -> None:
        super().__init__(settings.jobs_poll_seconds)
        self._store = store
        self._late = timedelta(seconds=settings.reminder_late_seconds)
        self._email = SmtpMailer.configured(settings)
        self._fired = fired

    async def round(self) -> float:
        if await self.fire_due() >= BATCH_SIZE:
            return 0
        upcoming = await tasks.next_reminder_at(self._store.db)
        if upcoming is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, (upcoming - utcnow()).total_seconds()))

    async def fire_due(self) -> int:
        """Fire the reminders due now; how many this worker fired."""
        now = utcnow()
        async with self._store.write() as uow:
            fired = await tasks.fire_due_reminders(uow, now, BATCH_SIZE, self._late)
            if self._email:
                for task in fired:
                    if await accounts.mail_address(uow.db, task.recipient) is not None:
                        params = {"task_id": task.task["id"], "late": task.late > 0, "now": now}
                        await uow.db.execute(_QUEUE_EMAIL, params | {"to": task.recipient})
        count = sum(task.count for task in fired)
        if count:
            logger.info("Fired %d reminders (%d late)", count, sum(task.late for task in fired))
            self._fired()
        return count
