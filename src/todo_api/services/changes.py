"""The change log: every write to a task, appended in the write's own transaction.

Ordering. A write appends its changes to `change_pending`, unnumbered, and takes no lock of
the log's: writes of one user commit side by side, as writes of different users do. Shortly
after the commit the sequencer (`sequence`, run by `todo_api.sequencer`, and by any read that
finds changes of its user pending) numbers every committed pending change into its owner's
log: positions 1, 2, 3 … with no holes, handed out under one lock so that a reader that sees
position N sees every position before it, and `seq > cursor` never skips a change.

Pending changes are numbered in the order of their `id`, one sequence for all. Two writes of
the same task lock its row, so the second takes its `id` only after the first committed: the
log keeps each task's changes in commit order, and a write that finished before another began
always comes first. Concurrent writes of different tasks come in either order, as they did.

A cursor is the log's epoch (random, new whenever a user's log starts over) and a position,
encoded as an opaque token.
"""

import base64
import binascii
import collections
import dataclasses
import functools
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import (
    Select,
    Text,
    bindparam,
    cast,
    delete,
    insert,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import sqlite

from todo_api.db import Database, Row
from todo_api.errors import ApiError, DatabaseConflict
from todo_api.models import Change, ChangeHead, PendingChange, TaskRow, table_of, utcnow
from todo_api.schemas.tasks import SHOWN_COLUMNS, task_json
from todo_api.services import task_repository

CREATED = "task.created"
UPDATED = "task.updated"
DELETED = "task.deleted"
CHANGE_TYPES = (CREATED, UPDATED, DELETED)

HEAD = table_of(ChangeHead)
CHANGE = table_of(Change)
PENDING = table_of(PendingChange)

_CURSOR = struct.Struct(">IQ")
MAX_SEQ = 2**63 - 1


class InvalidCursor(ValueError):
    """A `since` / `Last-Event-ID` that this service never issued."""


class CursorExpired(ApiError):
    """A cursor the log can no longer serve: purged past it, or from a log that started over."""

    status_code = 410
    default_detail = (
        "The change log no longer reaches back to this cursor: list the tasks again and sync "
        "from that listing's X-Changes-Cursor"
    )


@dataclass(frozen=True, slots=True)
class ChangeCursor:
    """A position in one user's log: after `seq` changes of the log `epoch`."""

    epoch: int
    seq: int

    def encode(self) -> str:
        """The opaque token clients pass back."""
        return base64.urlsafe_b64encode(_CURSOR.pack(self.epoch, self.seq)).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "ChangeCursor":
        """The position a token stands for; InvalidCursor if it is not one of ours."""
        if len(token) != 16:
            raise InvalidCursor("is not a change id this service issued")
        try:
            epoch, seq = _CURSOR.unpack(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (ValueError, binascii.Error, struct.error):
            raise InvalidCursor("is not a change id this service issued") from None
        if seq > MAX_SEQ or (epoch == 0 and seq != 0):
            raise InvalidCursor("is not a change id this service issued")
        return cls(epoch, seq)


# Before a user's first write: the start of whatever log they will have.
START = ChangeCursor(0, 0)


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change a write is about to log."""

    type: str
    task_id: int
    task: str | None  # the task's JSON as clients see it; None for a deletion
    at: datetime


def _json(task: TaskRow) -> str:
    return task_json(task.copy()).decode()  # a copy: task_json changes the row it writes


def created(task: TaskRow) -> NewChange:
    """The change that logs a new task (from its row as stored)."""
    return NewChange(CREATED, task["id"], _json(task), task["updated_at"])


def updated(task: TaskRow) -> NewChange:
    """The change that logs a task's new state (from its row as stored)."""
    return NewChange(UPDATED, task["id"], _json(task), task["updated_at"])


def deleted(task_id: int, at: datetime | None = None) -> NewChange:
    """The tombstone of a deleted task."""
    return NewChange(DELETED, task_id, None, at or utcnow())


_CHANGE_VALUES = {
    "user_id": bindparam("owner"),
    "type": bindparam("type"),
    "task_id": bindparam("task_id"),
    "task": bindparam("task"),
    "at": bindparam("at", type_=PENDING.c.at.type),
}
_APPEND = insert(PENDING).values(_CHANGE_VALUES)


async def record(db: Database, user_id: str, changes: Sequence[NewChange]) -> None:
    """Append `changes` to the user's log, inside the write's transaction (`db`)."""
    if not changes:
        return
    db.written(user_id)
    if not db.log_changes:
        return
    if len(changes) == 1:
        await db.execute(_APPEND, {"owner": user_id, **dataclasses.asdict(changes[0])})
    else:
        # In the order given: the sequencer numbers them by the ids this insert hands out.
        rows = [{"user_id": user_id, **dataclasses.asdict(change)} for change in changes]
        await db.execute(insert(PENDING).values(rows))


# --- creating a task and logging it in one statement (PostgreSQL) -----------------------------

_TASK_ID_PREFIX = '{"id":0'


@functools.cache
def _logged_insert() -> Select[Any]:
    """task_repository.CREATE (INSERT INTO task … RETURNING *) that also logs the creation.

    The task's JSON is written by Python before the insert, except its id, which the statement
    puts in front: a create stays one round trip.
    """
    new = task_repository.CREATE.cte("new")
    task = literal('{"id":', Text) + cast(new.c.id, Text) + bindparam("log_task_tail", type_=Text)
    row = select(new.c.user_id, literal(CREATED, Text), new.c.id, task, new.c.updated_at)
    columns = ["user_id", "type", "task_id", "task", "at"]
    logged = insert(PENDING).from_select(columns, row).cte("logged")
    return select(*new.c).add_cte(logged)


async def insert_task(db: Database, values: dict[str, Any], now: datetime) -> TaskRow:
    """task_repository.insert_one, with the creation logged in the same transaction."""
    owner = values["user_id"]
    if not db.log_changes:
        task = await task_repository.insert_one(db, values, now)
        db.written(owner)
        return task
    if db.dialect_name == "postgresql":
        stored = {"id": 0, "created_at": now, "updated_at": now, "version": 1}
        shown = {name: stored.get(name, values.get(name)) for name in SHOWN_COLUMNS}
        tail = task_json(cast_row(shown)).decode()
        assert tail.startswith(_TASK_ID_PREFIX)
        params = values | {"now": now, "log_task_tail": tail[len(_TASK_ID_PREFIX) :]}
        row = await db.fetch_one(_logged_insert(), params)
        assert row is not None  # INSERT … RETURNING always returns the row
        db.written(owner)
        return cast_row(row)
    async with db.transaction() as tx:
        task = await task_repository.insert_one(tx, values, now)
        await record(tx, owner, [created(task)])
    return task


def cast_row(row: dict[str, Any]) -> TaskRow:
    """A dict holding a task's columns, as the TaskRow it is."""
    return typing_cast(TaskRow, row)


# --- numbering ----------------------------------------------------------------------------------

# Changes numbered per transaction, at most.
SEQUENCE_BATCH = 1000
# Whoever numbers changes announces each user here (PostgreSQL NOTIFY, in the same transaction:
# delivered exactly when the numbered changes become visible).
CHANNEL = "todo_api_changes"
# pg_advisory_xact_lock's key for "numbering changes" (any constant of ours).
_SEQUENCER_LOCK = 0x746F646F5F736571

# PostgreSQL, in one statement (one round trip, one transaction): take the lock that lets one
# sequencer at a time number changes, then the oldest pending changes; advance their owners'
# heads, insert the changes at the positions that frees, and announce the owners. Every row
# to delete is joined to the lock, so the lock is held before any row is: a sequencer waiting
# for another holds no row lock. Its snapshot may predate the other's commit: the rows that
# one numbered are then skipped as deleted, and the upsert adds to the head as committed.
# The data-modifying CTEs all run to completion; a new user's log starts at a random epoch.
_SEQUENCE_PG = text(
    """
WITH sequencer AS MATERIALIZED (
    SELECT pg_advisory_xact_lock(:lock)
), moved AS (
    DELETE FROM change_pending
    WHERE id IN (
        SELECT p.id FROM change_pending p CROSS JOIN sequencer ORDER BY p.id LIMIT :batch
    )
    RETURNING id, user_id, type, task_id, task, at
), counts AS (
    SELECT user_id, count(*) AS n FROM moved GROUP BY user_id
), heads AS (
    INSERT INTO change_head (user_id, seq, epoch)
    SELECT user_id, n, 1 + floor(random() * 4294967295)::bigint FROM counts
    ON CONFLICT (user_id) DO UPDATE SET seq = change_head.seq + excluded.seq
    RETURNING user_id, seq
), logged AS (
    INSERT INTO change (user_id, seq, type, task_id, task, at)
    SELECT m.user_id,
           h.seq - c.n + row_number() OVER (PARTITION BY m.user_id ORDER BY m.id),
           m.type, m.task_id, m.task, m.at
    FROM moved m JOIN counts c USING (user_id) JOIN heads h USING (user_id)
)
SELECT c.user_id, c.n, pg_notify(:channel, c.user_id) FROM counts c
"""
)

# SQLite (one writer at a time, in-process: a statement per row costs little).
_TAKE_PENDING = (
    delete(PENDING)
    .where(
        PENDING.c.id.in_(
            select(PENDING.c.id).order_by(PENDING.c.id).limit(bindparam("batch")).scalar_subquery()
        )
    )
    .returning(*PENDING.c)
)
_ADVANCE_HEAD = (
    sqlite.insert(HEAD)
    .values(user_id=bindparam("owner"), seq=bindparam("count"), epoch=bindparam("epoch"))
    .on_conflict_do_update(
        index_elements=[HEAD.c.user_id], set_={"seq": HEAD.c.seq + bindparam("count")}
    )
    .returning(HEAD.c.seq)
)
_INSERT_CHANGE = insert(CHANGE).values(_CHANGE_VALUES | {"seq": bindparam("seq")})
_HAS_PENDING = select(PENDING.c.id).where(PENDING.c.user_id == bindparam("owner")).limit(1)


async def sequence(db: Database) -> None:
    """Number every committed pending change into its owner's log.

    Tells `db`'s change listeners of those users once the numbers are committed.
    """
    while True:
        if db.dialect_name == "postgresql":
            counts = await _sequence_pg(db)
        else:
            async with db.transaction() as tx:
                counts = await _sequence_sqlite(tx)
        if not counts:
            return
        db.changed(set(counts))
        if sum(counts.values()) < SEQUENCE_BATCH:
            return


# A round that deadlocked is tried again this often before the error is the caller's.
_DEADLOCK_TRIES = 3


async def _sequence_pg(db: Database) -> dict[str, int]:
    params = {"lock": _SEQUENCER_LOCK, "batch": SEQUENCE_BATCH, "channel": CHANNEL}
    for attempt in range(_DEADLOCK_TRIES):
        try:
            rows = await db.fetch_all(_SEQUENCE_PG, params)
            break
        except DatabaseConflict:
            # Deleting a user locks their row, then their pending changes; a round locks the
            # changes, then (inserting them) the owner's row. The database breaks the cycle by
            # rolling one back; once the deletion is through, the round goes through too.
            if attempt == _DEADLOCK_TRIES - 1:
                raise
    return {row["user_id"]: row["n"] for row in rows}


async def _sequence_sqlite(tx: Database) -> dict[str, int]:
    # The delete comes first: it takes SQLite's writer lock, which serialises sequencers.
    taken = sorted(
        await tx.fetch_all(_TAKE_PENDING, {"batch": SEQUENCE_BATCH}), key=lambda r: r["id"]
    )
    counts = collections.Counter(row["user_id"] for row in taken)
    position = {}
    for owner, count in counts.items():
        params = {"owner": owner, "count": count, "epoch": secrets.randbelow(2**32 - 1) + 1}
        position[owner] = await tx.scalar(_ADVANCE_HEAD, params) - count
    for change in taken:
        owner = change["user_id"]
        position[owner] += 1
        row = {"owner": owner, "seq": position[owner]}
        await tx.execute(
            _INSERT_CHANGE, row | {k: change[k] for k in ("type", "task_id", "task", "at")}
        )
    return dict(counts)


# --- reading ----------------------------------------------------------------------------------

_HEAD = select(HEAD.c.seq, HEAD.c.epoch).where(HEAD.c.user_id == bindparam("owner"))
# The owner's changes after a position, with the log's epoch, in log order.
AFTER = (
    select(CHANGE.c.seq, CHANGE.c.type, CHANGE.c.task_id, CHANGE.c.task, CHANGE.c.at, HEAD.c.epoch)
    .join(HEAD, HEAD.c.user_id == CHANGE.c.user_id)
    .where(CHANGE.c.user_id == bindparam("owner"), CHANGE.c.seq > bindparam("after"))
    .order_by(CHANGE.c.user_id, CHANGE.c.seq)
    .limit(bindparam("fetch"))
)


async def head(db: Database, user_id: str) -> ChangeCursor:
    """The position of the user's last committed change (START before their first)."""
    row = await db.fetch_one(_HEAD, {"owner": user_id})
    return START if row is None else ChangeCursor(row["epoch"], row["seq"])


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Changes after a cursor, oldest first, as rows with their cursors."""

    changes: list[Row]
    next: ChangeCursor
    more: bool


async def read(db: Database, user_id: str, since: ChangeCursor | None, limit: int) -> ChangePage:
    """The user's changes after `since` (from the oldest kept when None), `limit` at most.

    CursorExpired when changes after `since` were purged, or `since` is not of this log.
    """
    if await db.fetch_one(_HAS_PENDING, {"owner": user_id}) is not None:
        await sequence(db)  # the caller's own writes may be among them: read them back
    after = 0 if since is None else since.seq
    params = {"owner": user_id, "after": after, "fetch": limit + 1}
    rows = await db.fetch_all(AFTER, params)
    if not rows:
        current = await head(db, user_id)
        if since is None or since == current:
            return ChangePage([], current, False)
        if (since.epoch != current.epoch and since != START) or since.seq > current.seq:
            raise CursorExpired()  # of another log (or none of ours at all)
        # Changes after `since` exist: either they committed since the first look, or they
        # were purged.
        rows = await db.fetch_all(AFTER, params)
        if not rows:
            raise CursorExpired()
    more = len(rows) > limit
    rows = rows[:limit]
    epoch = rows[0]["epoch"]
    if since is not None and (since.epoch not in (0, epoch) or rows[0]["seq"] != since.seq + 1):
        raise CursorExpired()
    # Positions have no holes but those the purge makes (its clock may differ from the
    # writers'): a client must not skip over one.
    for index in range(len(rows) - 1, 0, -1):
        if rows[index]["seq"] != rows[index - 1]["seq"] + 1:
            if since is not None:
                raise CursorExpired()
            rows = rows[index:]  # from the oldest kept change: those after the hole
            break
    for row in rows:
        row["cursor"] = ChangeCursor(epoch, row["seq"])
    return ChangePage(rows, rows[-1]["cursor"], more)


def change_json(row: Row) -> str:
    """A change as clients see it (a row from `read`, with its `cursor`)."""
    at = row["at"].isoformat().replace("+00:00", "Z")
    task = row["task"] or "null"
    return (
        f'{{"id":"{row["cursor"].encode()}","type":"{row["type"]}",'
        f'"task_id":{row["task_id"]},"task":{task},"at":"{at}"}}'
    )


def page_json(page: ChangePage) -> bytes:
    """`{"changes": [...], "next": …, "more": …}`, written from the stored JSON as it is."""
    changes = ",".join(change_json(row) for row in page.changes)
    more = "true" if page.more else "false"
    return f'{{"changes":[{changes}],"next":"{page.next.encode()}","more":{more}}}'.encode()


# --- retention --------------------------------------------------------------------------------

_PURGE_BATCH = 5000
_EXPIRED = (
    select(CHANGE.c.user_id, CHANGE.c.seq)
    .where(CHANGE.c.at < bindparam("cutoff", type_=CHANGE.c.at.type))
    .limit(_PURGE_BATCH)
)
_PURGE = delete(CHANGE).where(tuple_(CHANGE.c.user_id, CHANGE.c.seq).in_(_EXPIRED))


async def purge(db: Database, retention: timedelta) -> int:
    """Delete changes older than `retention`, a batch per statement; how many went."""
    cutoff = utcnow() - retention
    total = 0
    while True:
        count = await db.execute(_PURGE, {"cutoff": cutoff})
        total += count
        if count < _PURGE_BATCH:
            return total
