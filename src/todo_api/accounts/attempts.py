"""Where the sign-in throttle counts: Redis, when REDIS_URL is set (every worker and replica
shares it), else the database (every worker and replica shares it too). Never in one process's
memory: a replica that counted alone would let each of its peers' guesses through again.

A counter is a moving window (`limits`' RateLimitItem: so many in so many seconds) over the
events of one key (an address, an account from an address, sign-ups from an address).
"""

import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from limits import RateLimitItem
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import bindparam, delete, insert, select

from todo_api.accounts.models import SignInEvent
from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, table_of
from todo_api.core.ratelimit import limit_storage

Counter = tuple[RateLimitItem, tuple[str, ...]]
EVENT = table_of(SignInEvent)
# Events older than this are no use to any counter: purged now and then.
_PURGE_EVERY_SECONDS = 600.0


class AttemptCounts(Protocol):
    """Moving-window counters of sign-in events."""

    async def hit(self, counters: Sequence[Counter]) -> None:
        """Count one event against each counter."""

    async def retry_after(self, counters: Sequence[Counter]) -> float:
        """Seconds until none of the counters is full any more (0: none is)."""

    async def clear(self, counters: Sequence[Counter]) -> None:
        """Forget these counters' events."""


class RedisAttempts:
    """The counters in Redis, through `limits`' moving windows."""

    def __init__(self, settings: Settings) -> None:
        self._strategy = MovingWindowRateLimiter(limit_storage(settings, "login"))

    async def hit(self, counters: Sequence[Counter]) -> None:
        for item, key in counters:
            await self._strategy.hit(item, *key)

    async def retry_after(self, counters: Sequence[Counter]) -> float:
        wait = 0.0
        for item, key in counters:
            if not await self._strategy.test(item, *key):
                stats = await self._strategy.get_window_stats(item, *key)
                wait = max(wait, stats.reset_time - time.time())
        return wait

    async def clear(self, counters: Sequence[Counter]) -> None:
        for item, key in counters:
            await self._strategy.clear(item, *key)


_INSERT = insert(EVENT).values(key=bindparam("key"), at=bindparam("at", type_=EVENT.c.at.type))
# The n-th newest event of a key within a window: once it leaves, the counter has room.
_NTH_NEWEST = (
    select(EVENT.c.at)
    .where(EVENT.c.key == bindparam("key"), EVENT.c.at > bindparam("since", type_=EVENT.c.at.type))
    .order_by(EVENT.c.at.desc())
    .offset(bindparam("skip"))
    .limit(1)
)
_CLEAR = delete(EVENT).where(EVENT.c.key == bindparam("key"))
_PURGE = delete(EVENT).where(EVENT.c.at < bindparam("before", type_=EVENT.c.at.type))


def _key(parts: tuple[str, ...]) -> str:
    return json.dumps(parts)


class DatabaseAttempts:
    """The counters in the database: a row per event and key."""

    def __init__(self, db: Database, longest_window: timedelta) -> None:
        self._db = db
        self._longest_window = longest_window
        self._purged_at = -_PURGE_EVERY_SECONDS

    async def hit(self, counters: Sequence[Counter]) -> None:
        now = utcnow()
        async with self._db.transaction() as tx:
            for key in dict.fromkeys(_key(key) for _item, key in counters):
                await tx.execute(_INSERT, {"key": key, "at": now})
        if time.monotonic() - self._purged_at > _PURGE_EVERY_SECONDS:
            self._purged_at = time.monotonic()
            await self._db.execute(_PURGE, {"before": now - self._longest_window})

    async def retry_after(self, counters: Sequence[Counter]) -> float:
        now = utcnow()
        wait = 0.0
        for item, key in counters:
            window = timedelta(seconds=item.get_expiry())
            params = {"key": _key(key), "since": now - window, "skip": item.amount - 1}
            nth: datetime | None = await self._db.scalar(_NTH_NEWEST, params)
            if nth is not None:
                wait = max(wait, (nth + window - now).total_seconds())
        return wait

    async def clear(self, counters: Sequence[Counter]) -> None:
        for key in dict.fromkeys(_key(key) for _item, key in counters):
            await self._db.execute(_CLEAR, {"key": key})
