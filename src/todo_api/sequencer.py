"""The loop that numbers this process's committed changes into their owners' logs.

A commit that logged changes wakes it; it waits a short window, so that the commits of a busy
moment share one numbering transaction, then numbers whatever is pending (its own writes and
anybody else's). Every so often it also looks without being woken: a process that died
between its commit and its numbering leaves changes that somebody has to number.
"""

import asyncio
import contextlib
import logging

from todo_api.background import Job
from todo_api.db import Database
from todo_api.services import changes

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0


class ChangeSequencer(Job):
    """Runs `changes.sequence` shortly after each commit that logged changes."""

    name = "Change sequencer"
    wake_window_seconds = 0.01

    def __init__(self, db: Database) -> None:
        super().__init__(SWEEP_SECONDS)
        self._db = db
        self._task: asyncio.Task[None] | None = None

    async def round(self) -> float:
        await changes.sequence(self._db)
        return self.poll_seconds

    def _written(self, _user_id: str) -> None:
        if self._db.log_changes:  # with the log off, a write leaves nothing to number
            self.wake()

    def start(self) -> None:
        """Run in the background, woken by this process's commits."""
        self._db.add_write_listener(self._written)
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        """Stop, numbering what this process committed last on the way out."""
        self._db.remove_write_listener(self._written)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with asyncio.timeout(2):
                await changes.sequence(self._db)
        except Exception as error:  # the database is gone: a read or a sweep numbers them
            logger.warning("Numbering the last changes at shutdown failed: %s", error)
