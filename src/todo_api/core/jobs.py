"""What every background job shares: a loop of rounds, claiming rows from an outbox, and the
runner that keeps the loops of a process going.

A job's round does what is due and says how long to wait for the next one; a write in this
process wakes it early. A database outage pauses a job, never ends it. Outbox rows (webhook
deliveries, reminder emails) are claimed with a lease: the claim takes due rows no other worker
has locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time), counts the
attempt and moves `next_attempt_at` past the lease, so the work is done after the claim commits,
with no lock held, and a worker that dies mid-way only lets its lease run out.
"""

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

from sqlalchemy import ColumnElement, Table, Update, bindparam, select, update

from todo_api.core.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)


class Job(ABC):
    """One background loop: `run()` until cancelled, `wake()` to run a round now."""

    # Named in the log: "<name> paused, database unavailable".
    name: str
    # A wake waits this long before its round, so that the commits of a busy moment share one
    # round instead of each paying for its own.
    wake_window_seconds = 0.02

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    @abstractmethod
    async def round(self) -> float:
        """Do what is due; the seconds to wait before the next round (0: at once)."""

    def wake(self) -> None:
        """Run a round now, not at the next poll: this process has queued work."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            delay = self.poll_seconds
            try:
                delay = await self.round()
            except DatabaseUnavailable as error:
                logger.warning("%s paused, database unavailable: %s", self.name, error)
            except Exception:
                logger.exception("%s: round failed", self.name)
            if delay > 0:
                # asyncio.timeout, not wait_for: on Python 3.11 a wake that lands as the job is
                # cancelled makes wait_for swallow the cancellation, and shutdown waits for ever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                        await asyncio.sleep(self.wake_window_seconds)
                self._wake.clear()


def claim_due(outbox: Table, *returning: ColumnElement[object]) -> Update:
    """Claim up to `:batch` pending rows of `outbox` due by `:now`, leased until `:lease_until`."""
    due = (
        select(outbox.c.id)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= bindparam("now"))
        .order_by(outbox.c.next_attempt_at)
        .limit(bindparam("batch"))
        .with_for_update(skip_locked=True)
        .cte(f"due_{outbox.name}")
    )
    return (
        update(outbox)
        .where(outbox.c.id.in_(select(due.c.id)))
        .values(
            attempts=outbox.c.attempts + 1,
            next_attempt_at=bindparam("lease_until", type_=outbox.c.next_attempt_at.type),
        )
        .returning(outbox.c.id, outbox.c.attempts, *returning)
    )


def this_attempt(outbox: Table) -> ColumnElement[bool]:
    """Row `:row_id` while it is still claimed by attempt `:attempt`: once a lease runs out,
    the row belongs to whoever claimed it next, and a late outcome must not overwrite theirs."""
    return (outbox.c.id == bindparam("row_id")) & (outbox.c.attempts == bindparam("attempt"))


def retry_at(outbox: Table) -> Update:
    """Set row `:row_id` (still this attempt's) due again at `:retry_at`."""
    return (
        update(outbox)
        .where(this_attempt(outbox))
        .values(next_attempt_at=bindparam("retry_at", type_=outbox.c.next_attempt_at.type))
    )


class JobRunner:
    """Jobs running in the background of this process, until `stop`."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, *jobs: Job) -> None:
        """Run each job's loop in the background."""
        self._tasks += [asyncio.create_task(job.run(), name=job.name) for job in jobs]

    async def stop(self) -> None:
        """Cancel the loops. Work cut off mid-way is redone by another process once its
        lease on the row runs out."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
