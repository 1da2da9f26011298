"""The change log's horizon: the change id up to which every change is final.

A change takes its id (one sequence for every user) as its write inserts it, and transactions
commit in whatever order they finish: change 11 may be visible while the transaction holding
change 10 is still open. A reader that handed out cursor 11 would skip change 10 for ever, so
readers serve changes up to the horizon only, an id at or below which every change is committed
or rolled back.

PostgreSQL: a round reads, in one statement, the sequence's last number L and its snapshot's
xmin and xmax. A transaction holding a number up to L took its transaction id before the number
(the column's default sees to it), so before the next round's snapshot: once a snapshot's xmin
has passed that xmax, all of them have ended and L is the horizon. Two rounds, no lock, no
write; a transaction left open anywhere in the cluster holds the horizon back while it is open.
SQLite has one writer at a time, which commits its ids in order: the last id committed is the
horizon at once.

The loop runs a round shortly after each commit of this process's (`wrote`), and keeps going
until the horizon covers them; then it tells this process (`announce`, the notifier's `final`)
which users have new changes and, on PostgreSQL, every process (NOTIFY on `CHANNEL`): the
horizon and those users. A horizon any process confirmed holds everywhere (`advance`).
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from todo_api.core.database import Database
from todo_api.core.errors import DatabaseUnavailable
from todo_api.core.jobs import Job

logger = logging.getLogger(__name__)

CHANNEL = "todo_api_changes"
# With nothing written here, a round this often keeps the horizon (listings' cursors) recent.
POLL_SECONDS = 5.0
# How long a reader waits for the horizon to pass what it saw; past it, it serves what is final.
FRESH_TIMEOUT_SECONDS = 2.0
# A NOTIFY payload holds 8000 bytes: users are announced in parts of at most this many.
_PAYLOAD_BYTES = 7000

_ROUND_PG = text(
    "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS last, "
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin, "
    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax "
    "FROM change_id_seq"
)
_ROUND_SQLITE = text(
    "SELECT coalesce(max(seq), 0) AS last FROM sqlite_sequence WHERE name = 'change'"
)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class HorizonStalled(Exception):
    """The horizon did not pass the changes committed so far in time; `confirmed` it did reach."""

    def __init__(self, confirmed: int) -> None:
        super().__init__(f"the change log's horizon is held at {confirmed} by an open transaction")
        self.confirmed = confirmed


@dataclass(slots=True)
class _Candidate:
    """A last number seen by round `round`, final once a snapshot's xmin reaches `xmax`."""

    round: int
    last: int
    users: set[str]
    xmax: int | None = None


class ChangeHorizon(Job):
    """Where the change log is final up to, for this process's readers."""

    name = "Change horizon"
    wake_window_seconds = 0.02

    def __init__(
        self, db: Database, announce: Callable[[set[str]], None] = lambda users: None
    ) -> None:
        super().__init__(POLL_SECONDS)
        self._db = db
        self._announce_here = announce
        # Every change with an id up to it is committed or rolled back.
        self.confirmed = 0
        self._rounds = 0
        # Every change committed before this round began is at or below `confirmed`.
        self._covered_round = 0
        self._candidates: deque[_Candidate] = deque()
        self._written: set[str] = set()
        self._lock = asyncio.Lock()
        self._retry = 0.001
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run in the background, woken by this process's commits (`wrote`)."""
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        """Stop, announcing what this process committed last on the way out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._written or self._candidates:
            try:
                async with asyncio.timeout(2):
                    await self.fresh()
            except Exception as error:  # the database is gone: the others' heartbeats catch up
                logger.warning("Announcing the last changes at shutdown failed: %s", error)

    def wrote(self, feeds: set[str]) -> None:
        """This process committed changes to these feeds: cover them soon."""
        self._written |= feeds
        self.wake()

    # --- the horizon --------------------------------------------------------------------------

    def advance(self, horizon: int) -> None:
        """Take a horizon another process confirmed."""
        self.confirmed = max(self.confirmed, horizon)

    async def fresh(self) -> int:
        """A horizon past every change committed before this call.

        HorizonStalled if a transaction somewhere in the cluster keeps it from getting there
        within FRESH_TIMEOUT_SECONDS; DatabaseUnavailable if the database cannot be asked.
        """
        target = self._rounds + 1
        delay = 0.001
        try:
            async with asyncio.timeout(FRESH_TIMEOUT_SECONDS):
                while self._covered_round < target:
                    async with self._lock:
                        if self._covered_round < target:
                            await self._round()
                    if self._covered_round < target:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 0.05)
        except TimeoutError:
            raise HorizonStalled(self.confirmed) from None
        return self.confirmed

    async def round(self) -> float:
        async with self._lock:
            await self._round()
        if not self._candidates:
            self._retry = 0.001
            return self.poll_seconds
        # Waiting for transactions still open: look again soon, less often the longer it takes.
        delay, self._retry = self._retry, min(self._retry * 2, 0.1)
        return delay

    async def _round(self) -> None:
        self._rounds += 1
        number = self._rounds
        users, self._written = self._written, set()
        try:
            if self._db.dialect_name == "postgresql":
                row = await self._db.fetch_one(_ROUND_PG)
            else:
                row = await self._db.fetch_one(_ROUND_SQLITE)
        except BaseException:
            self._written |= users
            raise
        assert row is not None
        last: int = row["last"]
        horizon = self.confirmed
        announced: set[str] = set()
        if self._db.dialect_name == "postgresql":
            xmin: int = row["xmin"]
            # Only the newest can be waiting for its xmax: every round gives the one before it.
            if self._candidates and self._candidates[-1].xmax is None:
                self._candidates[-1].xmax = row["xmax"]
            while self._candidates:
                first = self._candidates[0]
                if first.xmax is None or xmin < first.xmax:
                    break
                self._candidates.popleft()
                horizon = max(horizon, first.last)
                announced |= first.users
                self._covered_round = max(self._covered_round, first.round)
        else:
            horizon = max(horizon, last)
        if last <= horizon:
            # Everything committed before this round is already final.
            for candidate in self._candidates:
                announced |= candidate.users
            self._candidates.clear()
            announced |= users
            self._covered_round = number
        else:
            self._candidates.append(_Candidate(number, last, users))
        self.confirmed = max(self.confirmed, horizon)
        if announced:
            await self._announce(announced)

    async def _announce(self, users: set[str]) -> None:
        self._announce_here(users)
        if self._db.dialect_name != "postgresql":
            return
        try:
            for payload in payloads(self.confirmed, users):
                await self._db.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})
        except DatabaseUnavailable as error:  # the others catch up on their next heartbeat
            logger.warning("Announcing changes to the other processes failed: %s", error)


def payloads(horizon: int, users: set[str]) -> list[str]:
    """NOTIFY payloads: the horizon on the first line, then users, one per line."""
    parts: list[str] = []
    lines = [str(horizon)]
    size = len(lines[0])
    for user_id in sorted(users):
        length = len(user_id.encode()) + 1
        if size + length > _PAYLOAD_BYTES:
            parts.append("\n".join(lines))
            lines, size = [str(horizon)], len(str(horizon))
        lines.append(user_id)
        size += length
    parts.append("\n".join(lines))
    return parts


def parse_payload(payload: str) -> tuple[int, list[str]]:
    """The horizon and the users of a payload `payloads` wrote."""
    first, *users = payload.split("\n")
    return int(first), users
