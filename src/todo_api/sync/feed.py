"""Reading a user's feed: their changes after a cursor, as clients and webhooks replay them.

Readers serve changes up to the log's horizon only (`horizon.py`): below it every id is final,
so a cursor never moves past a change that commits late.
"""

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast

from sqlalchemy import ColumnElement, FromClause, Label, Table, bindparam, func, select

from todo_api.accounts import USER
from todo_api.core.database import Database, Rows, table_of
from todo_api.sync.cursors import ChangeCursor, CursorExpired
from todo_api.sync.horizon import ChangeHorizon, HorizonStalled
from todo_api.sync.log import CHANGE
from todo_api.sync.models import ChangeLog

LOG = table_of(ChangeLog)


class _Entry(TypedDict):
    id: int
    kind: str
    type: str
    record_id: int
    data: str | None
    at: datetime


class _LogState(TypedDict):
    epoch: int
    purged_through: int
    born: datetime | None


@dataclass(frozen=True, slots=True, eq=False)
class Alongside:
    """A row of another table that a reader reads with each change, in the same statement:
    `table` outer-joined where `on(kind, record_id)` holds of the change, its `columns` read
    by their names (None where no row joins). Make each once: statements are built per one."""

    table: Table
    on: Callable[[ColumnElement[str], ColumnElement[int]], ColumnElement[bool]]
    columns: tuple[str, ...]


_ALONGSIDE = "alongside_"


@functools.cache
def _after(alongside: Alongside | None) -> Rows[_Entry]:
    """The owner's changes after a position, in log order (with a row of another table)."""
    columns: list[ColumnElement[Any]] = [
        CHANGE.c.id,
        CHANGE.c.kind,
        CHANGE.c.type,
        CHANGE.c.record_id,
        CHANGE.c.data,
    ]
    changes: FromClause = CHANGE
    if alongside is not None:
        table = alongside.table
        columns += [table.c[name].label(f"{_ALONGSIDE}{name}") for name in alongside.columns]
        changes = CHANGE.outerjoin(table, alongside.on(CHANGE.c.kind, CHANGE.c.record_id))
    return Rows[_Entry](
        select(*columns, CHANGE.c.at)
        .select_from(changes)
        .where(CHANGE.c.user_id == bindparam("owner"), CHANGE.c.id > bindparam("after"))
        .order_by(CHANGE.c.user_id, CHANGE.c.id)
        .limit(bindparam("fetch"))
    )


# The names `epoch_columns` gives its columns on another query's rows.
_EPOCH_COLUMNS = ("log_epoch", "log_born")
# Which log the owner's is, and how far the purge has reached.
_STATE = Rows[_LogState](
    select(
        LOG.c.epoch,
        LOG.c.purged_through,
        select(USER.c.createdAt)
        .where(USER.c.id == bindparam("owner"))
        .scalar_subquery()
        .label("born"),
    )
)


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """A change as a feed serves it: where it is (`cursor`), and what it says."""

    cursor: ChangeCursor
    type: str
    kind: str
    record_id: int
    data: str | None
    at: datetime
    # What the reader read with it (`Alongside`), by column name; None when it read nothing.
    alongside: Mapping[str, Any] | None = None

    @property
    def position(self) -> int:
        """Its id: where it is in the log."""
        return self.cursor.position

    def json(self) -> str:
        """The change as clients see it: `{"id", "type", "<kind>_id", "<kind>", "at"}`, the
        record's JSON written as it was stored (null once deleted)."""
        at = self.at.isoformat().replace("+00:00", "Z")
        return (
            f'{{"id":"{self.cursor.encode()}","type":"{self.type}",'
            f'"{self.kind}_id":{self.record_id},"{self.kind}":{self.data or "null"},"at":"{at}"}}'
        )


def newest_position(user_id: ColumnElement[str]) -> ColumnElement[int]:
    """The newest change id in the feed of `user_id` (0 for none), for another table's query."""
    newest = select(func.max(CHANGE.c.id)).where(CHANGE.c.user_id == user_id)
    return func.coalesce(newest.scalar_subquery(), 0)


def has_changes(
    user_id: ColumnElement[str], after: ColumnElement[int], up_to: ColumnElement[int]
) -> ColumnElement[bool]:
    """Whether the feed of `user_id` has changes after `after` and at most `up_to`, for
    another table's query."""
    return (
        select(CHANGE.c.id)
        .where(CHANGE.c.user_id == user_id, CHANGE.c.id > after, CHANGE.c.id <= up_to)
        .exists()
    )


def epoch_columns(user_id: ColumnElement[str]) -> list[Label[Any]]:
    """Columns that put the epoch of `user_id`'s log (`epoch_of`) on another query's rows, so
    that a listing reads its cursor's epoch in its own round trip."""
    return [
        select(LOG.c.epoch).scalar_subquery().label(_EPOCH_COLUMNS[0]),
        select(USER.c.createdAt)
        .where(USER.c.id == user_id)
        .scalar_subquery()
        .label(_EPOCH_COLUMNS[1]),
    ]


def epoch_of(rows: Sequence[Any]) -> int | None:
    """The epoch the `epoch_columns` of `rows` (dicts of any shape) tell, taken off every
    row; None for no rows."""
    values = [(row.pop(_EPOCH_COLUMNS[0]), row.pop(_EPOCH_COLUMNS[1])) for row in rows]
    if not values:
        return None
    log_epoch, born = values[0]
    if log_epoch is None:
        return _user_epoch(None)
    return _user_epoch({"epoch": log_epoch, "purged_through": 0, "born": born})


def _user_epoch(state: _LogState | None) -> int:
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
    # The position taken first: what is read after reflects at least this much.
    return await cursor_at(db, user_id, horizon.confirmed, None)


async def cursor_at(
    db: Database, user_id: str, position: int, epoch_read: int | None
) -> ChangeCursor:
    """The user's cursor at `position` (their horizon's, taken before the rows were read):
    of the epoch read with the rows (`epoch_of`), or, for none, read now."""
    return ChangeCursor(
        epoch_read if epoch_read is not None else await epoch(db, user_id), position
    )


async def entries(
    db: Database, user_id: str, after: int, up_to: int, limit: int, log_epoch: int
) -> list[LoggedChange]:
    """Up to `limit` of the user's changes after position `after` and at most `up_to` (a
    horizon), oldest first: for readers that follow the log on their own (webhooks)."""
    rows = await db.fetch_all(_after(None), {"owner": user_id, "after": after, "fetch": limit})
    return [_logged(row, log_epoch, None) for row in rows if row["id"] <= up_to]


def _logged(row: _Entry, log_epoch: int, alongside: Alongside | None) -> LoggedChange:
    cursor = ChangeCursor(log_epoch, row["id"])
    logged = (row["type"], row["kind"], row["record_id"], row["data"], row["at"])
    if alongside is None:
        return LoggedChange(cursor, *logged)
    read = cast(dict[str, Any], row)
    return LoggedChange(
        cursor, *logged, {name: read[f"{_ALONGSIDE}{name}"] for name in alongside.columns}
    )


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Changes after a cursor, oldest first, and where the next read starts."""

    changes: list[LoggedChange]
    next: ChangeCursor
    more: bool

    def json(self) -> bytes:
        """`{"changes": [...], "next": …, "more": …}`, written from the stored JSON as it is."""
        changes = ",".join(change.json() for change in self.changes)
        more = "true" if self.more else "false"
        return f'{{"changes":[{changes}],"next":"{self.next.encode()}","more":{more}}}'.encode()


async def read(
    db: Database,
    horizon: ChangeHorizon,
    user_id: str,
    since: ChangeCursor | None,
    limit: int,
    alongside: Alongside | None = None,
) -> ChangePage:
    """The user's changes after `since` (from the oldest kept when None), `limit` at most,
    each with the row `alongside` joins to it, if any.

    CursorExpired when changes after `since` were purged, or `since` is not of this log.
    """
    final = horizon.confirmed
    after = 0 if since is None else since.position
    params = {"owner": user_id, "after": after, "fetch": limit + 1}
    statement = _after(alongside)
    rows = await db.fetch_all(statement, params)
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
        rows = await db.fetch_all(statement, params)
    # Read after the rows: a purge that took some of them shows.
    state = await db.fetch_one(_STATE, {"owner": user_id})
    log_epoch = _user_epoch(state)
    purged = 0 if state is None else state["purged_through"]
    if since is not None and (since.epoch != log_epoch or after < purged):
        raise CursorExpired()
    changes = [_logged(row, log_epoch, alongside) for row in rows if row["id"] <= final]
    more = len(changes) > limit
    changes = changes[:limit]
    if more:
        return ChangePage(changes, changes[-1].cursor, True)
    return ChangePage(changes, ChangeCursor(log_epoch, max(after, final)), False)


async def states_at(
    db: Database, user_id: str, kind: str, record_ids: list[int], position: int
) -> dict[int, str]:
    """The JSON each of these records last had in the user's feed at `position` (records
    deleted by then, or never logged, are left out): where a record was before it changed."""
    if not record_ids:
        return {}
    newest = (
        select(func.max(CHANGE.c.id))
        .where(
            CHANGE.c.user_id == user_id,
            CHANGE.c.id <= position,
            CHANGE.c.kind == kind,
            CHANGE.c.record_id.in_(sorted(set(record_ids))),
        )
        .group_by(CHANGE.c.record_id)
    )
    statement = select(CHANGE.c.record_id, CHANGE.c.data).where(CHANGE.c.id.in_(newest))
    rows = await db.fetch_all(statement)
    return {row["record_id"]: row["data"] for row in rows if row["data"] is not None}
