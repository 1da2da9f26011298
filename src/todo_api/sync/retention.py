"""Retention: changes older than CHANGES_RETENTION_DAYS are purged, oldest ids first."""

import itertools
import logging
import random
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import bindparam, case, delete, select, update

from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, Rows
from todo_api.core.jobs import Job
from todo_api.sync.feed import LOG
from todo_api.sync.log import CHANGE

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0
_PURGE_BATCH = 5000


class _Stamp(TypedDict):
    id: int
    at: datetime


_OLDEST = Rows[_Stamp](select(CHANGE.c.id, CHANGE.c.at).order_by(CHANGE.c.id).limit(_PURGE_BATCH))
_PURGE = delete(CHANGE).where(CHANGE.c.id <= bindparam("through"))
_PURGED_THROUGH = update(LOG).values(
    purged_through=case(
        (LOG.c.purged_through < bindparam("through"), bindparam("through")),
        else_=LOG.c.purged_through,
    )
)


async def purge(db: Database, retention: timedelta) -> int:
    """Delete changes older than `retention`, a batch per transaction; how many went.

    Oldest ids first, up to the first change still kept: ids follow the writers' clocks, so a
    change stamped a little earlier than one before it only goes with the next purge.
    """
    cutoff = utcnow() - retention
    total = 0
    while True:
        async with db.transaction() as tx:
            oldest = await tx.fetch_all(_OLDEST)
            expired = list(itertools.takewhile(lambda row: row["at"] < cutoff, oldest))
            if expired:
                through = {"through": expired[-1]["id"]}
                await tx.execute(_PURGE, through)
                await tx.execute(_PURGED_THROUGH, through)
        total += len(expired)
        if len(expired) < _PURGE_BATCH:
            return total


class ChangeRetention(Job):
    """Drops changes past `CHANGES_RETENTION_DAYS` now and then (every process may: the deletes
    are idempotent, and the jitter keeps replicas from all doing it at once)."""

    name = "Change log retention"

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(PURGE_EVERY_SECONDS)
        self._db = db
        self._retention = timedelta(days=settings.changes_retention_days)

    async def round(self) -> float:
        if purged := await purge(self._db, self._retention):
            logger.info("Purged %d changes older than %s", purged, self._retention)
        return random.uniform(0.5, 1.0) * self.poll_seconds
