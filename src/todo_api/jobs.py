"""The background jobs every process runs: reminders, webhooks (queueing deliveries from the
change log, and sending them), reminder emails, and the change log's retention.

Each is a loop over rows it claims in the database, so any number of processes (and workers
in each) share the work without doing any of it twice. None of them ever runs on a request's
path: a write only queues work, and its commit wakes the loops of this process.
"""

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from todo_api.background import Job
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.horizon import ChangeHorizon
from todo_api.services import changes
from todo_api.services.deliveries import Deliverer
from todo_api.services.mailer import Mailer
from todo_api.services.reminder_worker import ReminderWorker
from todo_api.services.webhook_dispatch import Dispatcher

logger = logging.getLogger(__name__)

CHANGES_PURGE_SECONDS = 3600.0


class ChangeRetention(Job):
    """Drops changes past `CHANGES_RETENTION_DAYS` now and then (every process may: the deletes
    are idempotent, and the jitter keeps replicas from all doing it at once)."""

    name = "Change log retention"

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(CHANGES_PURGE_SECONDS)
        self._db = db
        self._retention = timedelta(days=settings.changes_retention_days)

    async def round(self) -> float:
        if purged := await changes.purge(self._db, self._retention):
            logger.info("Purged %d changes older than %s", purged, self._retention)
        return random.uniform(0.5, 1.0) * self.poll_seconds


class BackgroundJobs:
    """The loops of one process: started with the app, cancelled at shutdown."""

    def __init__(self, db: Database, settings: Settings, horizon: ChangeHorizon) -> None:
        self._db = db
        self.deliverer = Deliverer(db, settings)
        self.dispatcher = Dispatcher(db, settings, horizon, queued=self.deliverer.wake)
        self.mailer = Mailer(db, settings) if settings.smtp_url and settings.smtp_from else None
        self.reminders = ReminderWorker(db, settings, fired=self._reminders_fired)
        self.retention = ChangeRetention(db, settings)
        self._tasks: list[asyncio.Task[None]] = []

    def _reminders_fired(self) -> None:
        self.dispatcher.wake()
        if self.mailer is not None:
            self.mailer.wake()

    def _written(self, _user_id: str) -> None:
        # A write of this process may have set a reminder sooner than the loop's next look.
        self.reminders.wake()

    def _changed(self, _user_id: str) -> None:
        # New changes in a log, for webhooks to follow.
        self.dispatcher.wake()

    def start(self) -> None:
        """Run every loop in the background, woken by this process's commits."""
        jobs: list[Job] = [self.reminders, self.dispatcher, self.deliverer, self.retention]
        if self.mailer is not None:
            jobs.append(self.mailer)
        self._tasks = [asyncio.create_task(job.run(), name=job.name) for job in jobs]
        self._db.add_write_listener(self._written)
        self._db.add_change_listener(self._changed)

    async def stop(self) -> None:
        """Cancel the loops. Work cut off mid-way is redone by another process once its
        lease on the row runs out."""
        self._db.remove_write_listener(self._written)
        self._db.remove_change_listener(self._changed)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.deliverer.close()
