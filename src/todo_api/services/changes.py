"""The change log: every write to a task, appended in the write's own transaction.

A change's id is its position: one sequence for every user, taken as the write inserts it, and
never renumbered. Writes take no lock of the log's, so one user's writes commit side by side;
readers serve changes only up to the log's horizon (`todo_api.horizon`), below which every id
is final, so `id > cursor` never skips a change that commits late. A user's changes keep their
ids' order: two writes of the same task lock its row, so the second takes its id only after
the first committed, and a write that finished before another began always comes first.

A cursor is the user's log epoch and a position, encoded as an opaque token. The epoch is drawn
from the database's log and the user's creation: a user deleted and signed up again has a new
log, and cursors into the old one get 410 instead of silently missing the deletion.
"""

import base64
import binascii
import dataclasses
import functools
import hashlib
import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import Select, Text, bindparam, case, cast, delete, insert, literal, select, update

from todo_api.db import Database, Row
from todo_api.errors import ApiError
from todo_api.horizon import ChangeHorizon, HorizonStalled
from todo_api.models import Change, ChangeLog, TaskRow, User, table_of, utcnow
from todo_api.schemas.tasks import SHOWN_COLUMNS, task_json
from todo_api.services import task_repository

CREATED = "task.created"
UPDATED = "task.updated"
DELETED = "task.deleted"
CHANGE_TYPES = (CREATED, UPDATED, DELETED)

CHANGE = table_of(Change)
LOG = table_of(ChangeLog)
USER = table_of(User)

_CURSOR = struct.Struct(">IQ")
MAX_POSITION = 2**63 - 1


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
    """A position in one user's log `epoch`: after every change of theirs up to `position`."""

    epoch: int
    position: int

    def encode(self) -> str:
        """The opaque token clients pass back."""
        return (
            base64.urlsafe_b64encode(_CURSOR.pack(self.epoch, self.position)).decode().rstrip("=")
        )

    @classmethod
    def decode(cls, token: str) -> "ChangeCursor":
        """The position a token stands for; InvalidCursor if it is not one of ours."""
        if len(token) != 16:
            raise InvalidCursor("is not a change id this service issued")
        try:
            epoch, position = _CURSOR.unpack(
                base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            )
        except (ValueError, binascii.Error, struct.error):
            raise InvalidCursor("is not a change id this service issued") from None
        if position > MAX_POSITION or epoch == 0:
            raise InvalidCursor("is not a change id this service issued")
        return cls(epoch, position)


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


_APPEND = insert(CHANGE).values(
    user_id=bindparam("owner"),
    type=bindparam("type"),
    task_id=bindparam("task_id"),
    task=bindparam("task"),
    at=bindparam("at", type_=CHANGE.c.at.type),
)


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
        # In the order given: the ids this insert hands out follow it.
        rows = [{"user_id": user_id, **dataclasses.asdict(change)} for change in changes]
        await db.execute(insert(CHANGE).values(rows))


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
    logged = insert(CHANGE).from_select(columns, row).cte("logged")
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


# --- reading ----------------------------------------------------------------------------------

# The owner's changes after a position, in log order.
AFTER = (
    select(CHANGE.c.id, CHANGE.c.type, CHANGE.c.task_id, CHANGE.c.task, CHANGE.c.at)
    .where(CHANGE.c.user_id == bindparam("owner"), CHANGE.c.id > bindparam("after"))
    .order_by(CHANGE.c.user_id, CHANGE.c.id)
    .limit(bindparam("fetch"))
)
# Which log the owner's is, and how far the purge has reached.
_STATE = select(
    LOG.c.epoch,
    LOG.c.purged_through,
    select(USER.c.createdAt).where(USER.c.id == bindparam("owner")).scalar_subquery().label("born"),
)


def _user_epoch(state: Row | None) -> int:
    """The epoch of a user's log: their creation, in this database's log."""
    if state is None:  # a database migrated without its log's row: nothing to tell apart
        return 1
    born = state["born"].isoformat() if state["born"] is not None else ""
    digest = hashlib.blake2b(f"{state['epoch']}:{born}".encode(), digest_size=4).digest()
    return int.from_bytes(digest) or 1


async def epoch(db: Database, user_id: str) -> int:
    """The epoch of the user's log (cursors of another are 410)."""
    return _user_epoch(await db.fetch_one(_STATE, {"owner": user_id}))


async def cursor(db: Database, horizon: ChangeHorizon, user_id: str) -> ChangeCursor:
    """A cursor that every change of the user's committed before this call is at or below."""
    position = horizon.confirmed  # taken first: what is read after reflects at least this much
    return ChangeCursor(await epoch(db, user_id), position)


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Changes after a cursor, oldest first, as rows with their cursors."""

    changes: list[Row]
    next: ChangeCursor
    more: bool


async def read(
    db: Database, horizon: ChangeHorizon, user_id: str, since: ChangeCursor | None, limit: int
) -> ChangePage:
    """The user's changes after `since` (from the oldest kept when None), `limit` at most.

    CursorExpired when changes after `since` were purged, or `since` is not of this log.
    """
    final = horizon.confirmed
    after = 0 if since is None else since.position
    params = {"owner": user_id, "after": after, "fetch": limit + 1}
    rows = await db.fetch_all(AFTER, params)
    if after > final or (rows and rows[-1]["id"] > final):
        # Committed past the horizon this process knows of (the caller's own writes, say):
        # wait until they are final, and read again from a snapshot that has all before them.
        try:
            final = await horizon.fresh()
        except HorizonStalled as stalled:  # serve what is final; the rest comes next time
            final = stalled.confirmed
        else:
            if after > final:
                raise CursorExpired()  # a position the log has not reached: not one of ours
        rows = await db.fetch_all(AFTER, params)
    # Read after the rows: a purge that took some of them shows.
    state = await db.fetch_one(_STATE, {"owner": user_id})
    epoch = _user_epoch(state)
    purged = 0 if state is None else state["purged_through"]
    if since is not None and (since.epoch != epoch or after < purged):
        raise CursorExpired()
    rows = [row for row in rows if row["id"] <= final]
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["cursor"] = ChangeCursor(epoch, row["id"])
    if more:
        return ChangePage(rows, rows[-1]["cursor"], True)
    return ChangePage(rows, ChangeCursor(epoch, max(after, final)), False)


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
_OLDEST = select(CHANGE.c.id, CHANGE.c.at).order_by(CHANGE.c.id).limit(_PURGE_BATCH)
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
