"""The notification loops of one process: reminders, webhook dispatch and deliveries, and
reminder emails, and what wakes each of them.

Each is a loop over rows it claims in the database, so any number of processes (and workers
in each) share the work without doing any of it twice. None of them ever runs on a request's
path: a write only queues work, and its commit wakes the loops of this process.
"""

from todo_api.core.config import Settings
from todo_api.core.database import Store
from todo_api.core.jobs import Job
from todo_api.core.mail import SmtpMailer
from todo_api.notifications.reminders.mail import Mailer
from todo_api.notifications.reminders.worker import ReminderWorker
from todo_api.notifications.webhooks.deliveries import Deliverer
from todo_api.notifications.webhooks.dispatch import Dispatcher
from todo_api.notifications.webhooks.secret_box import SecretBox
from todo_api.notifications.webhooks.sender import WebhookSender
from todo_api.sync import ChangeHorizon


class Notifications:
    """The notification jobs of this process."""

    def __init__(self, store: Store, settings: Settings, horizon: ChangeHorizon) -> None:
        smtp = SmtpMailer.configured(settings)
        self.sender = WebhookSender(
            timeout=settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private
        )
        self.secrets = SecretBox(settings)
        self.deliverer = Deliverer(store.db, settings, self.sender, self.secrets)
        self.dispatcher = Dispatcher(store.db, settings, horizon, queued=self.deliverer.wake)
        self.mailer = Mailer(store.db, settings, SmtpMailer(settings)) if smtp else None
        self.reminders = ReminderWorker(store, settings, fired=self._reminders_fired)

    @property
    def jobs(self) -> list[Job]:
        """The loops to run."""
        jobs: list[Job] = [self.reminders, self.dispatcher, self.deliverer]
        if self.mailer is not None:
            jobs.append(self.mailer)
        return jobs

    def _reminders_fired(self) -> None:
        self.dispatcher.wake()
        if self.mailer is not None:
            self.mailer.wake()

    def written(self, _feeds: set[str]) -> None:
        """A write of this process committed: it may have set a reminder sooner than the
        reminder loop's next look."""
        self.reminders.wake()

    def changed(self, _feeds: set[str]) -> None:
        """New changes are final in these feeds, for webhooks to follow."""
        self.dispatcher.wake()

    async def close(self) -> None:
        """Stop the attempts in flight and close the connections to receivers (once the loops
        have stopped)."""
        await self.deliverer.close()
        await self.sender.close()
