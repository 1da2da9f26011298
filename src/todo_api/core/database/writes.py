"""Writes to the records clients sync: a unit of work per write, and the changes it records.

Every write to a synced record (a task, and each kind that comes next) goes through a unit of
work: `async with store.write() as uow:` runs its statements on `uow.db`, one transaction, and
`uow.record(change)` logs a change in that same transaction. Recorded changes are written last,
after every row the write locked, so that one record's changes keep the order of its commits.
Once the transaction commits, `on_commit` hears whose feeds got changes.

Where changes go is a `ChangeSink`, given when the store is built (the sync domain's change log,
or none when the log is off): this module knows no kind of record. A change may name a `group`
(a shared list): the store's `Audience`, given by the domain that has groups, says who else is
in it, in the write's transaction, and their feeds get the change too.
"""

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy.sql import ClauseElement

from todo_api.core.database.base import Database, Row, Rows

R = TypeVar("R", bound=Mapping[str, Any])
# How a new record's JSON starts before the insert has given it its id.
NO_ID_YET = '{"id":0'


@dataclass(frozen=True, slots=True)
class Change:
    """A write to one record as the log keeps it: its `type` (`task.updated`), the record's
    `kind` and id, its JSON as clients see it (None once deleted), when, and the feeds (user
    ids) it goes to, besides those of the members of `group`."""

    kind: str
    type: str
    record_id: int
    data: str | None
    at: datetime
    feeds: tuple[str, ...]
    group: int | None = None


@dataclass(frozen=True, slots=True)
class NewRecord:
    """How the creation of a record an INSERT is about to make is logged: `data` is its JSON
    with `"id":0` first, since its id comes from the insert."""

    kind: str
    type: str
    data: str
    at: datetime
    feeds: tuple[str, ...]
    group: int | None = None

    def __post_init__(self) -> None:
        if not self.data.startswith(NO_ID_YET):
            raise ValueError(f"a new record's JSON starts with {NO_ID_YET!r}")

    def tail(self) -> str:
        """The JSON after the id."""
        return self.data[len(NO_ID_YET) :]

    def data_of(self, record_id: int) -> str:
        """The record's JSON, once it has its id."""
        return f'{{"id":{record_id}{self.tail()}'

    def change(self, record_id: int) -> Change:
        """The change, once the record has its id."""
        data = self.data_of(record_id)
        return Change(self.kind, self.type, record_id, data, self.at, self.feeds, self.group)


class Audience(Protocol):
    """Who, besides the feeds a change names, is in each group (a shared list's members),
    read in the write's transaction so that a member joining or leaving is ordered with it."""

    async def __call__(self, db: Database, groups: Collection[int]) -> Mapping[int, Sequence[str]]:
        """The members of each of `groups` (a group with none may be left out)."""


class ChangeSink(Protocol):
    """Where a unit of work's changes are written, in its transaction."""

    async def append(self, db: Database, changes: Sequence[Change]) -> None:
        """Log `changes`, in this order, in the transaction `db`."""

    async def insert(
        self, db: Database, statement: ClauseElement, params: Mapping[str, Any], record: NewRecord
    ) -> Row:
        """Run `statement` (an INSERT … RETURNING the new row, its `id` included) and log the
        creation, atomically; the row."""

    async def write(
        self, db: Database, statement: ClauseElement, params: Mapping[str, Any], change: Change
    ) -> Row | None:
        """Run `statement` (an UPDATE or DELETE … RETURNING the row it wrote, if any) and log
        `change` if it wrote one, atomically; the row, or None."""


class UnitOfWork:
    """One write: its statements on `db` (one transaction) and the changes it records."""

    def __init__(
        self, db: Database, sink: ChangeSink | None, audience: Audience | None = None
    ) -> None:
        self.db = db
        self._sink = sink
        self._audience = audience
        self._changes: list[Change] = []
        # Whose feeds this write changed, told once it commits.
        self.feeds: set[str] = set()
        # The members of groups this write read itself, while holding them.
        self._known: dict[int, Sequence[str]] = {}

    def knows(self, group: int, members: Sequence[str]) -> None:
        """`members` are all of `group`'s, as read while this write holds the group (so that
        nobody joins or leaves before it commits): the audience need not be asked."""
        self._known[group] = members

    async def _members(self, groups: Collection[int]) -> Mapping[int, Sequence[str]]:
        unknown = [group for group in groups if group not in self._known]
        if not unknown or self._audience is None:
            return self._known
        return {**self._known, **await self._audience(self.db, unknown)}

    def record(self, *changes: Change) -> None:
        """Log `changes` with this write (in the order recorded, after its statements)."""
        for change in changes:
            self.feeds.update(change.feeds)
        if self._sink is not None:
            self._changes.extend(changes)

    async def create(self, statement: Rows[R], params: Mapping[str, Any], record: NewRecord) -> R:
        """Insert one record (`statement`: INSERT … RETURNING it) and log its creation."""
        if record.group is not None:
            members = await self._members([record.group])
            record = replace(record, feeds=(*record.feeds, *members.get(record.group, ())))
        self.feeds.update(record.feeds)
        if self._sink is None:
            row = await self.db.fetch_one(statement, params)
            assert row is not None  # INSERT … RETURNING always returns the row
            return row
        return cast(R, await self._sink.insert(self.db, statement.statement, params, record))

    async def flush(self) -> None:
        """Write the recorded changes (the store does, before it commits)."""
        changes, self._changes = self._changes, []
        groups = {change.group for change in changes if change.group is not None}
        if groups:
            members = await self._members(groups)
            changes = [_with_members(change, members) for change in changes]
            self.feeds.update(feed for change in changes for feed in change.feeds)
        if changes and self._sink is not None:
            await self._sink.append(self.db, changes)


def _with_members(change: Change, members: Mapping[int, Sequence[str]]) -> Change:
    extra = members.get(change.group, ()) if change.group is not None else ()
    return replace(change, feeds=(*change.feeds, *extra)) if extra else change


class Store:
    """The database, for reads (`db`) and for writes that log their changes (`write`,
    `create`)."""

    def __init__(
        self,
        db: Database,
        sink: ChangeSink | None = None,
        on_commit: Callable[[set[str]], None] = lambda feeds: None,
        audience: Audience | None = None,
    ) -> None:
        self.db = db
        self._sink = sink
        self._on_commit = on_commit
        self._audience = audience

    @property
    def logs_changes(self) -> bool:
        """Whether writes log their changes (CHANGES_ENABLED)."""
        return self._sink is not None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work: committed, its changes with it, when the block ends without error."""
        async with self.db.transaction() as tx:
            uow = UnitOfWork(tx, self._sink, self._audience)
            yield uow
            await uow.flush()
        if uow.feeds:
            self._on_commit(uow.feeds)

    async def apply(
        self, statement: Rows[R], params: Mapping[str, Any], change: Change
    ) -> R | None:
        """One record changed by `statement` (an UPDATE or DELETE … RETURNING it, which matches
        it only in the state the caller read) and `change` logged, as a write of its own: a single
        statement where the log can take it in one (PostgreSQL), else one transaction. `change`
        holds the record as the statement leaves it, worked out beforehand from what was read.
        None, and nothing logged, when the record is no longer as read."""
        if change.group is not None:  # its members are read in the write's transaction
            async with self.write() as uow:
                row = await uow.db.fetch_one(statement, params)
                if row is not None:
                    uow.record(change)
            return row
        if self._sink is None:
            written = await self.db.fetch_one(statement, params)
        else:
            sunk = await self._sink.write(self.db, statement.statement, params, change)
            written = cast(R | None, sunk)
        if written is not None:
            self._on_commit(set(change.feeds))
        return written

    async def create(self, statement: Rows[R], params: Mapping[str, Any], record: NewRecord) -> R:
        """One record inserted and its creation logged, as a write of its own: a single
        statement where the log can take it in one (PostgreSQL), else one transaction."""
        if record.group is not None:
            async with self.write() as uow:
                return await uow.create(statement, params, record)
        uow = UnitOfWork(self.db, self._sink)
        row = await uow.create(statement, params, record)
        self._on_commit(uow.feeds)
        return row
