"""Reminder emails: plain text, sent from the outbox the reminder workers fill as they fire.

Claimed as webhook deliveries are (a lease on the row, `SKIP LOCKED`), sent over SMTP
(`core/mail.py`), only to an address its user verified, retried on the webhook schedule
(`WEBHOOK_RETRY_DELAYS`), then given up on.
"""

import asyncio
import logging
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import update

from todo_api import accounts, tasks
from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, Row
from todo_api.core.jobs import Job, claim_due, retry_at, this_attempt
from todo_api.core.mail import SMTP_TIMEOUT_SECONDS, MailNotSent, SmtpMailer
from todo_api.notifications.reminders.worker import EMAIL

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
LEASE = timedelta(seconds=SMTP_TIMEOUT_SECONDS * 2)

_CLAIM = claim_due(EMAIL, EMAIL.c.task_id, EMAIL.c.late, EMAIL.c.recipient)
_THIS_ATTEMPT = this_attempt(EMAIL)
_SENT = update(EMAIL).where(_THIS_ATTEMPT).values(status="sent")
_GIVE_UP = update(EMAIL).where(_THIS_ATTEMPT).values(status="failed")
_RETRY = retry_at(EMAIL)


def compose(
    task: tasks.ReminderSubject, to: str, *, sender: str, app_url: str | None, late: bool
) -> EmailMessage:
    """The reminder email to `to`: the task's title, when it is due, and a link to it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Reminder: {task['title']}"
    if task["due_at"] is not None:
        due = task["due_at"].strftime("%Y-%m-%d %H:%M UTC")
    elif task["due_date"] is not None:
        due = task["due_date"].isoformat()
    else:
        due = "no due date"
    lines = [task["title"], "", f"Due: {due}"]
    if late:
        lines.append("(This reminder is late: the service was down when it was due.)")
    if app_url:
        lines += ["", f"{app_url.rstrip('/')}/tasks/{task['id']}"]
    message.set_content("\n".join(lines) + "\n")
    return message


class Mailer(Job):
    """Sends the pending reminder emails."""

    name = "Reminder emails"

    def __init__(self, db: Database, settings: Settings, smtp: SmtpMailer) -> None:
        super().__init__(settings.jobs_poll_seconds)
        self._db = db
        self._smtp = smtp
        self._app_url = settings.app_url
        self._delays = list(settings.webhook_retry_delays)

    async def round(self) -> float:
        return 0 if await self.send_due() else self.poll_seconds

    async def send_due(self) -> int:
        """Claim and send the emails due now; how many were claimed."""
        now = utcnow()
        params = {"now": now, "lease_until": now + LEASE, "batch": BATCH_SIZE}
        claimed = await self._db.fetch_all(_CLAIM, params)
        await asyncio.gather(*(self._send(row) for row in claimed))
        return len(claimed)

    async def _send(self, reminder: Row) -> None:
        identity = {"row_id": reminder["id"], "attempt": reminder["attempts"]}
        task = await tasks.reminder_subject(self._db, reminder["task_id"])
        if task is None:
            return  # the task is gone, and its reminders with it
        address = await accounts.mail_address(self._db, reminder["recipient"] or task["user_id"])
        if address is None:  # the user has no address to send to any more
            await self._db.execute(_GIVE_UP, identity)
            return
        try:
            message = compose(
                task,
                address,
                sender=self._smtp.sender,
                app_url=self._app_url,
                late=reminder["late"],
            )
        except ValueError as error:
            # A title no header can hold (one stored before titles refused line breaks): this
            # message can never be written, so it is not tried again.
            logger.warning("Reminder email %s cannot be composed: %s", reminder["id"], error)
            await self._db.execute(_GIVE_UP, identity)
            return
        try:
            await self._smtp.send(message)
        except MailNotSent as error:
            attempt = reminder["attempts"]
            # The server's message only: it never holds the credentials.
            logger.warning(
                "Reminder email %s attempt %d failed: %s", reminder["id"], attempt, error
            )
            if attempt <= len(self._delays):
                retry_at = utcnow() + timedelta(seconds=self._delays[attempt - 1])
                await self._db.execute(_RETRY, identity | {"retry_at": retry_at})
            else:
                await self._db.execute(_GIVE_UP, identity)
            return
        await self._db.execute(_SENT, identity)
