"""Live changes: each process's open event streams, and the fan-out that wakes them.

When the log's horizon passes a process's commits (`todo_api.sync.horizon`), that process tells its
`ChangeBroker` which users changed (`Database.changed`); on PostgreSQL it also sends the new
horizon and those user ids with NOTIFY, and every process LISTENing (every worker of every
replica) takes the horizon and wakes its streams of those users. A notification carries no
change, only who to look up: each process then reads the new changes from the log once per
user, and hands the same encoded events to all of that user's streams. The log stays the only
source of truth: a notification lost to a restart or an outage costs latency, never a change,
since every user with open streams is also looked up again every heartbeat and whenever the
listening connection comes back.
"""

import asyncio
import contextlib
import logging
import signal
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import asyncpg
from fastapi.sse import format_sse_event

from todo_api.core.database import Database, database_target
from todo_api.core.errors import DatabaseUnavailable, TooManyRequests
from todo_api.sync import feed as change_feed
from todo_api.sync.cursors import ChangeCursor, CursorExpired
from todo_api.sync.horizon import CHANNEL, ChangeHorizon, parse_payload

logger = logging.getLogger(__name__)

# Events waiting for a stream that does not read them; past this it is closed, and the client
# resumes from the log with Last-Event-ID.
STREAM_BACKLOG = 1000
# What a client refused a stream is told to wait.
STREAM_RETRY_AFTER_SECONDS = 10
# How long a feed waits before reading the log again after a failure.
RETRY_SECONDS = 1.0
# Changes read from the log at a time.
PAGE = 500


def encode_event(change: change_feed.LoggedChange) -> bytes:
    """One change as a Server-Sent Event."""
    return format_sse_event(data_str=change.json(), event=change.type, id=change.cursor.encode())


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A change for a stream, and the position of the change its feed sent before it.

    The feed has sent every change of the user's up to `after`, and has none between `after`
    and this one: a stream that has everything up to `after` can send it next.
    """

    after: int
    cursor: ChangeCursor
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How many streams one process holds open at once, per user and per client address."""

    per_user: int
    per_address: int


class TooManyStreams(TooManyRequests):
    """As many streams are open here as this user, or this address, may hold."""

    def __init__(self, whose: str, limit: int) -> None:
        super().__init__(
            f"Too many open event streams {whose} (at most {limit}): close one, or retry later",
            STREAM_RETRY_AFTER_SECONDS,
        )


@dataclass(eq=False)
class Subscription:
    """One open stream's inbox: events, or None once it must end."""

    user_id: str
    address: str = ""
    queue: asyncio.Queue[LiveEvent | None] = field(
        default_factory=lambda: asyncio.Queue(STREAM_BACKLOG + 1)
    )
    closed: bool = False

    def push(self, item: LiveEvent | None) -> None:
        if self.closed:
            return
        if item is None or self.queue.qsize() >= STREAM_BACKLOG:
            self.closed = True
            item = None
        self.queue.put_nowait(item)


@dataclass(eq=False)
class _Feed:
    """A user with open streams in this process, where its reads have reached (`position`),
    and the last change handed to the streams (`sent`)."""

    user_id: str
    position: ChangeCursor
    sent: int
    subscribers: set[Subscription] = field(default_factory=set)
    dirty: bool = False
    pump: asyncio.Task[None] | None = None


class ChangeBroker:
    """This process's event streams, woken by commits here and (PostgreSQL) everywhere else."""

    def __init__(
        self,
        db: Database,
        horizon: ChangeHorizon,
        *,
        listen_url: str | None,
        heartbeat: float,
        limits: StreamLimits,
    ) -> None:
        self.db = db
        self.horizon = horizon
        self.heartbeat = heartbeat
        self._limits = limits
        self._per_address: Counter[str] = Counter()
        self.closing = asyncio.Event()
        self._feeds: dict[str, _Feed] = {}
        self._listen_url = listen_url
        self._connection: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (PostgreSQL) and looking up open streams' users every heartbeat."""
        if self._listen_url is not None:
            self._tasks.append(asyncio.create_task(self._listen()))
        self._tasks.append(asyncio.create_task(self._resync_every_heartbeat()))

    def close_streams(self) -> None:
        """End every open stream now (shutdown): each sends what it has and finishes."""
        self.closing.set()
        for feed in self._feeds.values():
            for subscription in feed.subscribers:
                subscription.push(None)

    async def close(self) -> None:
        """Stop everything the broker runs."""
        self.close_streams()
        tasks = self._tasks + [f.pump for f in self._feeds.values() if f.pump is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 2)

    def end_streams_on_exit_signals(self) -> None:
        """Make SIGTERM/SIGINT also end the streams, before the server waits for requests.

        Uvicorn's graceful shutdown waits for open responses to finish, and an event stream
        never would: it would sit out the whole shutdown timeout. The server's own handler
        still runs afterwards.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous = signal.getsignal(sig)
            except ValueError:  # not the main thread (a test client): nothing to chain
                return

            def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.close_streams)
                if callable(previous):
                    previous(number, frame)

            try:
                signal.signal(sig, handler)
            except ValueError:
                return

    # --- streams ------------------------------------------------------------------------------

    async def subscribe(self, user_id: str, address: str) -> Subscription:
        """Register a stream of the user's changes, for a client at `address`.

        TooManyStreams when the user, or the address, already holds as many streams here as
        it may; DatabaseUnavailable if no change can be read.
        """
        feed = self._feeds.get(user_id)
        if feed is not None and len(feed.subscribers) >= self._limits.per_user:
            raise TooManyStreams("for this user", self._limits.per_user)
        if self._per_address[address] >= self._limits.per_address:
            raise TooManyStreams("from this address", self._limits.per_address)
        if feed is None:
            position = await change_feed.cursor(self.db, self.horizon, user_id)
            feed = self._feeds.setdefault(user_id, _Feed(user_id, position, sent=position.position))
        subscription = Subscription(user_id, address)
        if self.closing.is_set():
            subscription.push(None)
        feed.subscribers.add(subscription)
        self._per_address[address] += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        feed = self._feeds.get(subscription.user_id)
        if feed is None or subscription not in feed.subscribers:
            return
        feed.subscribers.discard(subscription)
        self._per_address[subscription.address] -= 1
        if not self._per_address[subscription.address]:
            del self._per_address[subscription.address]
        if not feed.subscribers:
            del self._feeds[subscription.user_id]
            if feed.pump is not None:
                feed.pump.cancel()

    def wake_feeds(self, users: set[str]) -> None:
        """These users' feeds have new changes: look them up for the streams open here."""
        for user_id in users:
            self.wake(user_id)

    def wake(self, user_id: str) -> None:
        """Look up the user's new changes for the streams open here, if any."""
        feed = self._feeds.get(user_id)
        if feed is None:
            return
        feed.dirty = True
        if feed.pump is None or feed.pump.done():
            feed.pump = asyncio.create_task(self._pump(feed))

    async def _pump(self, feed: _Feed) -> None:
        while feed.dirty and self._feeds.get(feed.user_id) is feed:
            feed.dirty = False
            try:
                while True:
                    page = await change_feed.read(
                        self.db, self.horizon, feed.user_id, feed.position, PAGE
                    )
                    for change in page.changes:
                        event = LiveEvent(feed.sent, change.cursor, encode_event(change))
                        feed.sent = change.position
                        for subscription in list(feed.subscribers):
                            subscription.push(event)
                    feed.position = page.next
                    if not page.more:
                        break
            except CursorExpired:
                # The log started over (the user was deleted): the streams cannot follow it.
                for subscription in list(feed.subscribers):
                    subscription.push(None)
                feed.position = await change_feed.cursor(self.db, self.horizon, feed.user_id)
                feed.sent = feed.position.position
            except DatabaseUnavailable as error:
                logger.warning("Reading changes for live streams failed: %s", error)
                feed.dirty = True
                await asyncio.sleep(RETRY_SECONDS)

    async def _resync_every_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            self._wake_all()

    def _wake_all(self) -> None:
        for user_id in list(self._feeds):
            self.wake(user_id)

    # --- PostgreSQL LISTEN / NOTIFY -----------------------------------------------------------

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            horizon, users = parse_payload(str(payload))
        except ValueError:  # not one of ours
            return
        self.horizon.advance(horizon)
        for user_id in users:
            self.wake(user_id)

    async def _listen(self) -> None:
        assert self._listen_url is not None
        arguments = database_target(self._listen_url).asyncpg_arguments()
        delay = RETRY_SECONDS
        while True:
            try:
                connection = await asyncpg.connect(**arguments)
            except Exception as error:  # down, refused, unknown host: retry them all
                logger.warning("Listening for changes: cannot connect (%s); retrying", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = RETRY_SECONDS
            try:
                await self._listen_on(connection)
            except Exception as error:
                logger.warning("Listening for changes: connection lost (%s); reconnecting", error)
            finally:
                self._connection = None
                connection.terminate()

    async def _listen_on(self, connection: asyncpg.Connection) -> None:
        """LISTEN until the connection is lost."""
        self._connection = connection
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(CHANNEL, self._notified)
        # Whatever was committed while nobody listened: look it up now.
        self._wake_all()
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat):
                    await lost.wait()
            # A connection that died without a word (a dropped route) only shows when used.
            async with asyncio.timeout(RETRY_SECONDS * 5):
                await connection.execute("SELECT 1")
