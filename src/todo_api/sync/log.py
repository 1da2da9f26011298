"""Writing the change log: every change a unit of work records, in the write's transaction.

A change's id is its position: one sequence for every user, taken as the write inserts it, and
never renumbered. Writes take no lock of the log's, so one user's writes commit side by side;
readers serve changes only up to the log's horizon (`horizon.py`), below which every id is
final, so `id > cursor` never skips a change that commits late. A record's changes keep their
ids' order: two writes of the same record lock its row, so the second takes its id only after
the first committed (a unit of work writes its changes last, after every row it locked), and a
write that finished before another began always comes first.

A change to a record several users see is written once per user (each user's log is their
feed): `Change.feeds` names them.
"""

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    CTE,
    ColumnElement,
    Delete,
    Insert,
    Select,
    Text,
    Update,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.sql import ClauseElement

from todo_api.core.database import Change, Database, NewRecord, Row, table_of
from todo_api.sync.models import ChangeEntry

CHANGE = table_of(ChangeEntry)
_COLUMNS = ["user_id", "kind", "type", "record_id", "data", "at"]

_APPEND = insert(CHANGE).values(
    user_id=bindparam("feed"),
    kind=bindparam("kind"),
    type=bindparam("type"),
    record_id=bindparam("record_id"),
    data=bindparam("data"),
    at=bindparam("at", type_=CHANGE.c.at.type),
)


def _rows(changes: Sequence[Change]) -> list[dict[str, Any]]:
    # In the order given: the ids the insert hands out follow it.
    return [
        {
            "user_id": feed,
            "kind": change.kind,
            "type": change.type,
            "record_id": change.record_id,
            "data": change.data,
            "at": change.at,
        }
        for change in changes
        for feed in change.feeds
    ]


class LogWriter:
    """The change log as a unit of work's `ChangeSink`."""

    def __init__(self) -> None:
        # The insert-and-log statement of each INSERT it was given (built once, kept with it).
        self._logged: weakref.WeakKeyDictionary[ClauseElement, Select[Any]] = (
            weakref.WeakKeyDictionary()
        )

    async def append(self, db: Database, changes: Sequence[Change]) -> None:
        """Log `changes`, in this order, in the transaction `db`."""
        if len(changes) == 1 and len(changes[0].feeds) == 1:
            change = changes[0]
            params = {
                "feed": change.feeds[0],
                "kind": change.kind,
                "type": change.type,
                "record_id": change.record_id,
                "data": change.data,
                "at": change.at,
            }
            await db.execute(_APPEND, params)
        elif rows := _rows(changes):
            await db.execute(insert(CHANGE).values(rows))

    async def insert(
        self, db: Database, statement: ClauseElement, params: Mapping[str, Any], record: NewRecord
    ) -> Row:
        """Run `statement` (INSERT … RETURNING the new row) and log the creation, atomically.

        On PostgreSQL one statement does both (a round trip, no transaction to open): the
        record's JSON is written by Python before the insert, but for its id, which the
        statement puts in front. Elsewhere, two statements in one transaction.
        """
        if db.dialect_name != "postgresql":
            async with db.transaction() as tx:
                row = await tx.fetch_one(statement, params)
                assert row is not None  # INSERT … RETURNING always returns the row
                await self.append(tx, [record.change(row["id"])])
            return row
        logged = self._logged.get(statement)
        if logged is None:
            logged = self._logged[statement] = _insert_and_log(statement)
        log_params = _log_params(record) | {"log_data_tail": record.tail()}
        row = await db.fetch_one(logged, {**params, **log_params})
        assert row is not None
        return row

    async def write(
        self, db: Database, statement: ClauseElement, params: Mapping[str, Any], change: Change
    ) -> Row | None:
        """Run `statement` (an UPDATE or DELETE … RETURNING the row it wrote, if any) and log
        `change` if it wrote one, atomically: on PostgreSQL in one statement, elsewhere in one
        transaction."""
        if db.dialect_name != "postgresql":
            async with db.transaction() as tx:
                row = await tx.fetch_one(statement, params)
                if row is not None:
                    await self.append(tx, [change])
            return row
        logged = self._logged.get(statement)
        if logged is None:
            logged = self._logged[statement] = _write_and_log(statement)
        log_params = _log_params(change) | {"log_data": change.data}
        return await db.fetch_one(logged, {**params, **log_params})


def _log_params(change: Change | NewRecord) -> dict[str, Any]:
    """The parameters of the log's part of an insert-and-log or write-and-log statement, but
    its JSON."""
    return {
        "log_feeds": list(change.feeds),
        "log_kind": change.kind,
        "log_type": change.type,
        "log_at": change.at,
    }


def _insert_and_log(statement: ClauseElement) -> Select[Any]:
    """`statement` (an INSERT … RETURNING) that also logs the new row's creation for every feed
    of `:log_feeds`, its JSON `{"id":<the new id>` followed by `:log_data_tail`."""
    assert isinstance(statement, Insert)
    new = statement.cte("new")
    data = literal('{"id":', Text) + cast(new.c.id, Text) + bindparam("log_data_tail", type_=Text)
    return _and_log(new, data)


def _write_and_log(statement: ClauseElement) -> Select[Any]:
    """`statement` (an UPDATE or DELETE … RETURNING) that also logs a change of the row it
    returns, if any, for every feed of `:log_feeds`, its JSON `:log_data`."""
    assert isinstance(statement, Update | Delete)
    return _and_log(statement.cte("written"), bindparam("log_data", type_=Text))


def _and_log(written: CTE, data: ColumnElement[str]) -> Select[Any]:
    """The rows of `written` (a CTE), each logged for every feed of `:log_feeds`."""
    feeds = (
        func.unnest(bindparam("log_feeds", type_=ARRAY(Text)))
        .table_valued("feed")
        .render_derived(name="feeds")
    )
    row = (
        select(
            feeds.c.feed,
            bindparam("log_kind", type_=Text),
            bindparam("log_type", type_=Text),
            written.c.id,
            data,
            bindparam("log_at", type_=CHANGE.c.at.type),
        )
        .select_from(written)
        .join(feeds, true())
    )
    logged = insert(CHANGE).from_select(_COLUMNS, row).cte("logged")
    return select(*written.c).add_cte(logged)
