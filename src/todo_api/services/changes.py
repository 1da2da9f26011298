"""The change log: every write to a task, appended in the write's own transaction.

Ordering. Each user's log has a head row (`change_head`) holding the last position handed out.
A write bumps it with an upsert, which locks the row until the write commits; the next write
of the same user waits for that lock, so it can only take the next position once the previous
one is committed. Positions therefore follow commit order, with no holes (a rolled-back write
rolls back its bump too), and a reader that sees position N committed sees every position
before it. That is what makes `seq > cursor` safe, where a sequence number (assigned before
commit) would let a change that commits late slip behind a cursor already past it. The head is
always the last lock a write takes, so this ordering adds no deadlock. Writes of different
users never wait for each other.

A cursor is the log's epoch (random, new whenever a user's log starts over) and a position,
encoded as an opaque token.
"""

import base64
import binascii
import functools
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import Select, Text, bindparam, cast, delete, insert, literal, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from todo_api.db import Database, Row
from todo_api.errors import ApiError
from todo_api.models import Change, ChangeHead, TaskRow, table_of, utcnow
from todo_api.schemas.tasks import SHOWN_COLUMNS, task_json
from todo_api.services import task_repository

CREATED = "task.created"
UPDATED = "task.updated"
DELETED = "task.deleted"
CHANGE_TYPES = (CREATED, UPDATED, DELETED)

HEAD = table_of(ChangeHead)
CHANGE = table_of(Change)

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
class PendingChange:
    """A change a write is about to log."""

    type: str
    task_id: int
    task: str | None  # the task's JSON as clients see it; None for a deletion
    at: datetime


def _json(task: TaskRow) -> str:
    return task_json(task.copy()).decode()  # a copy: task_json changes the row it writes


def created(task: TaskRow) -> PendingChange:
    """The change that logs a new task (from its row as stored)."""
    return PendingChange(CREATED, task["id"], _json(task), task["updated_at"])


def updated(task: TaskRow) -> PendingChange:
    """The change that logs a task's new state (from its row as stored)."""
    return PendingChange(UPDATED, task["id"], _json(task), task["updated_at"])


def deleted(task_id: int, at: datetime | None = None) -> PendingChange:
    """The tombstone of a deleted task."""
    return PendingChange(DELETED, task_id, None, at or utcnow())


def _new_epoch() -> int:
    return secrets.randbelow(2**32 - 1) + 1


@functools.cache
def _bump_head(dialect: str) -> Any:
    # Upserted, so that the first write of a user makes the row (which the lock then guards).
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(HEAD).values(
        user_id=bindparam("owner"), seq=bindparam("count"), epoch=bindparam("epoch")
    )
    return statement.on_conflict_do_update(
        index_elements=[HEAD.c.user_id], set_={"seq": HEAD.c.seq + statement.excluded.seq}
    ).returning(HEAD.c.seq, HEAD.c.epoch)


_CHANGE_VALUES = {
    "user_id": bindparam("owner"),
    "seq": bindparam("seq"),
    "type": bindparam("type"),
    "task_id": bindparam("task_id"),
    "task": bindparam("task"),
    "at": bindparam("at", type_=CHANGE.c.at.type),
}
_INSERT_CHANGE = insert(CHANGE).values(_CHANGE_VALUES)


@functools.cache
def _record_one_pg() -> Any:
    # The bump and the change in one statement: one round trip per write.
    head = _bump_head("postgresql").cte("head")
    row = select(
        bindparam("owner", type_=Text),
        head.c.seq,
        bindparam("type", type_=Text),
        bindparam("task_id", type_=CHANGE.c.task_id.type),
        bindparam("task", type_=Text),
        bindparam("at", type_=CHANGE.c.at.type),
    )
    columns = ["user_id", "seq", "type", "task_id", "task", "at"]
    return insert(CHANGE).from_select(columns, row).add_cte(head)


async def record(db: Database, user_id: str, changes: Sequence[PendingChange]) -> None:
    """Append `changes` to the user's log, inside the write's transaction (`db`).

    Call it after the write's other statements: the head is the last lock a write takes.
    """
    if not changes or not db.log_changes:
        return
    if db.dialect_name == "postgresql" and len(changes) == 1:
        change = changes[0]
        params = {
            "owner": user_id,
            "count": 1,
            "epoch": _new_epoch(),
            "type": change.type,
            "task_id": change.task_id,
            "task": change.task,
            "at": change.at,
        }
        await db.execute(_record_one_pg(), params)
    else:
        params = {"owner": user_id, "count": len(changes), "epoch": _new_epoch()}
        head = await db.fetch_one(_bump_head(db.dialect_name), params)
        assert head is not None  # an upsert … RETURNING always returns the row
        first = head["seq"] - len(changes) + 1
        rows = [
            {
                "user_id": user_id,
                "seq": first + offset,
                "type": change.type,
                "task_id": change.task_id,
                "task": change.task,
                "at": change.at,
            }
            for offset, change in enumerate(changes)
        ]
        if len(rows) == 1:
            await db.execute(_INSERT_CHANGE, rows[0] | {"owner": user_id})
        else:
            await db.execute(insert(CHANGE).values(rows))
    db.changed(user_id)


# --- creating a task and logging it in one statement (PostgreSQL) -----------------------------

_TASK_ID_PREFIX = '{"id":0'


@functools.cache
def _logged_insert() -> Select[Any]:
    """task_repository.CREATE (INSERT INTO task … RETURNING *) that also logs the creation.

    The task's JSON is written by Python before the insert, except its id, which the statement
    puts in front: a create stays one round trip.
    """
    new = task_repository.CREATE.cte("new")
    head = _bump_head("postgresql").cte("head")
    task = literal('{"id":', Text) + cast(new.c.id, Text) + bindparam("log_task_tail", type_=Text)
    row = (
        select(new.c.user_id, head.c.seq, literal(CREATED, Text), new.c.id, task, new.c.updated_at)
        .select_from(new)
        .join(head, true())
    )
    columns = ["user_id", "seq", "type", "task_id", "task", "at"]
    logged = insert(CHANGE).from_select(columns, row).cte("logged")
    return select(*new.c).add_cte(head, logged)


async def insert_task(db: Database, values: dict[str, Any], now: datetime) -> TaskRow:
    """task_repository.insert_one, with the creation logged in the same transaction."""
    if not db.log_changes:
        return await task_repository.insert_one(db, values, now)
    owner = values["user_id"]
    if db.dialect_name == "postgresql":
        stored = {"id": 0, "created_at": now, "updated_at": now, "version": 1}
        shown = {name: stored.get(name, values.get(name)) for name in SHOWN_COLUMNS}
        tail = task_json(cast_row(shown)).decode()
        assert tail.startswith(_TASK_ID_PREFIX)
        params = values | {
            "now": now,
            "owner": owner,
            "count": 1,
            "epoch": _new_epoch(),
            "log_task_tail": tail[len(_TASK_ID_PREFIX) :],
        }
        row = await db.fetch_one(_logged_insert(), params)
        assert row is not None  # INSERT … RETURNING always returns the row
        db.changed(owner)
        return cast_row(row)
    async with db.transaction() as tx:
        task = await task_repository.insert_one(tx, values, now)
        await record(tx, owner, [created(task)])
    return task


def cast_row(row: dict[str, Any]) -> TaskRow:
    """A dict holding a task's columns, as the TaskRow it is."""
    return typing_cast(TaskRow, row)


# --- reading ----------------------------------------------------------------------------------

_HEAD = select(HEAD.c.seq, HEAD.c.epoch).where(HEAD.c.user_id == bindparam("owner"))
# The owner's changes after a position, with the log's epoch, in log order.
_AFTER = (
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
    after = 0 if since is None else since.seq
    params = {"owner": user_id, "after": after, "fetch": limit + 1}
    rows = await db.fetch_all(_AFTER, params)
    if not rows:
        current = await head(db, user_id)
        if since is None or since == current:
            return ChangePage([], current, False)
        if (since.epoch != current.epoch and since != START) or since.seq > current.seq:
            raise CursorExpired()  # of another log (or none of ours at all)
        # Changes after `since` exist: either they committed since the first look, or they
        # were purged.
        rows = await db.fetch_all(_AFTER, params)
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
