"""The task table's SQL for listings: keyset and offset pages, filters and sort orders, counts,
stats and tags.

The default listing's statements are built once; filtered or sorted listings build theirs per
request (their conditions carry the values).
"""

import functools
from datetime import date, datetime
from typing import Any, TypedDict, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    TableValuedAlias,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)

from todo_api import sync
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, Rows
from todo_api.tasks.listing import Cursor, StatusFilter, TaskListQuery
from todo_api.tasks.lists.repository import LIST
from todo_api.tasks.models import TaskRow
from todo_api.tasks.repository import NOW, OWNER, PENDING, TASK
from todo_api.tasks.shared_pages import shared_lists, shared_part, with_shared
from todo_api.tasks.views import SHOWN_COLUMNS

_TODAY = bindparam("today", type_=Date)
_STATUS = {
    StatusFilter.all: None,
    StatusFilter.pending: PENDING,
    StatusFilter.completed: TASK.c.completed.is_(True),
}


class TaskCounts(TypedDict):
    """The user's tasks counted by state ("today" is the UTC day)."""

    total: int
    pending: int
    completed: int
    overdue: int
    due_today: int


class TagUse(TypedDict):
    """A tag and the number of the user's tasks carrying it."""

    tag: str
    count: int


class ListedTask(TaskRow, total=False):
    """A listing's row: the columns clients see, and in a sorted listing, its sort key."""

    sort_key: object


def _overdue(now: Any, today: Any) -> ColumnElement[bool]:
    """Pending and past due_at if it has one, else past the whole due_date (UTC)."""
    return and_(
        PENDING,
        or_(
            and_(TASK.c.due_at.is_not(None), TASK.c.due_at < now),
            and_(TASK.c.due_at.is_(None), TASK.c.due_date < today),
        ),
    )


def _not_overdue(now: Any, today: Any) -> ColumnElement[bool]:
    """The complement of _overdue (spelt out: NOT over NULL due dates would be NULL)."""
    return or_(
        TASK.c.completed.is_(True),
        and_(TASK.c.due_at.is_not(None), TASK.c.due_at >= now),
        and_(TASK.c.due_at.is_(None), or_(TASK.c.due_date.is_(None), TASK.c.due_date >= today)),
    )


def _owned_after_id(owner: Any, after_id: Any) -> tuple[ColumnElement[bool], ...]:
    """The owner's tasks after `after_id`, in id order, spelt so that only the (user_id, id)
    index can serve it: with `user_id = $1 ORDER BY id`, PostgreSQL's generic plans walk the
    primary key instead and filter by owner, which scans the whole table for a user with few
    tasks."""
    return (
        tuple_(TASK.c.user_id, TASK.c.id) > tuple_(owner, after_id),
        TASK.c.user_id <= owner,
    )


# What a listing reads: the columns clients see, in the order they see them (`views.py`
# then writes the rows as they are).
_SHOWN = [TASK.c[name] for name in SHOWN_COLUMNS]


@functools.cache
def default_list(dialect: str, status: StatusFilter) -> Rows[ListedTask]:
    """The default listing (creation order, at most a status filter): one index range scan on
    (user_id, id) with LIMIT, whatever the number of tasks the user (or the table) has, and
    one of (list_id, id) per list shared with them; built once per database and status."""
    owner: Any = bindparam("owner")
    after_id: Any = bindparam("after_id")
    fetch: Any = bindparam("fetch")
    conditions = []
    if (condition := _STATUS[status]) is not None:
        conditions.append(condition)
    # One more row than the page holds tells whether another page follows.
    own = (
        select(*_SHOWN)
        .where(*_owned_after_id(owner, after_id), *conditions)
        .order_by(TASK.c.user_id, TASK.c.id)
        .limit(fetch)
    )
    shared = shared_part(
        dialect, _SHOWN, [TASK.c.id > after_id, *conditions], (TASK.c.id,), fetch, owner
    )
    page = with_shared(own, shared, lambda c: (c.id,), fetch)
    return Rows(page.add_columns(*sync.epoch_columns(bindparam("reader"))))


def _owner_seen_by_reader() -> ColumnElement[Any]:
    """The owner of the list `:list_id` if `:reader` owns it or is one of its members, else
    NULL: a listing that names a list finds whose tasks it lists in its own statement."""
    reader: Any = bindparam("reader")
    list_id: Any = bindparam("list_id")
    return (
        select(LIST.c.user_id)
        .where(
            LIST.c.id == list_id, or_(LIST.c.user_id == reader, list_id.in_(shared_lists(reader)))
        )
        .scalar_subquery()
    )


@functools.cache
def _list_order_page(status: StatusFilter, inbox: bool, top_only: bool) -> Rows[ListedTask]:
    """One list's tasks in their manual order, from `(:after_key, :after_id)` on: a range scan
    of (user_id, list_id, position), built once per shape. The Inbox's are `:owner`'s; a
    list's, its owner's if `:reader` sees the list (no rows otherwise)."""
    conditions = [
        OWNER if inbox else TASK.c.user_id == _owner_seen_by_reader(),
        TASK.c.list_id.is_(None) if inbox else TASK.c.list_id == bindparam("list_id"),
        tuple_(TASK.c.position, TASK.c.id)
        > tuple_(bindparam("after_key", type_=TASK.c.position.type), bindparam("after_id")),
    ]
    if top_only:
        conditions.append(TASK.c.parent_id.is_(None))
    if (condition := _STATUS[status]) is not None:
        conditions.append(condition)
    return Rows(
        select(*_SHOWN, TASK.c.position.label("sort_key"))
        .add_columns(*sync.epoch_columns(bindparam("reader")))
        .where(*conditions)
        .order_by(TASK.c.position, TASK.c.id)
        .limit(bindparam("fetch"))
    )


_STATS = Rows[TaskCounts](
    select(
        func.count().label("total"),
        func.count().filter(PENDING).label("pending"),
        func.count().filter(TASK.c.completed.is_(True)).label("completed"),
        func.count().filter(_overdue(NOW, _TODAY)).label("overdue"),
        func.count().filter(PENDING, TASK.c.due_date == _TODAY).label("due_today"),
    ).where(OWNER)
)


async def page(
    db: Database, user_id: str, query: TaskListQuery, position: Cursor | None, reader: str
) -> list[ListedTask]:
    """Up to `query.limit + 1` of the tasks `user_id` sees, from `position` on (the extra one
    tells that another page follows): their own, and unless the query names a list or a
    parent, those of the lists shared with them. Sorted pages carry each row's `sort_key` as
    well, and every row the epoch of `reader`'s log (`sync.epoch_of` takes it off them)."""
    if query.is_default:
        params = {
            "reader": reader,
            "owner": user_id,
            "after_id": 0 if position is None else position.id,
            "fetch": query.limit + 1,
        }
        return await db.fetch_all(default_list(db.dialect_name, query.effective_status), params)
    if query.is_list_order:
        in_order = _list_order_page(
            query.effective_status, query.list_id == "inbox", query.parent_id == "none"
        )
        key = "" if position is None else position.key
        params = {
            "reader": reader,
            "owner": user_id,
            "list_id": query.list_id,
            "after_key": key,
            "after_id": 0 if position is None else position.id,
            "fetch": query.limit + 1,
        }
        return await db.fetch_all(in_order, params)
    statement = _filtered_page(db.dialect_name, user_id, query, position)
    statement = statement.add_columns(*sync.epoch_columns(literal(reader)))
    return await db.fetch_all(Rows[ListedTask](statement))


async def count(db: Database, user_id: str, query: TaskListQuery) -> int:
    """How many of the tasks `page` lists match the query's filters (COUNT(*): grows with
    them)."""
    seen = TASK.c.user_id == user_id
    if query.sees_shared:
        seen = or_(seen, TASK.c.list_id.in_(shared_lists(user_id)))
    statement = select(func.count()).where(seen, *_filters(db.dialect_name, query))
    return int(await db.scalar(statement))


def _filters(dialect: str, query: TaskListQuery) -> list[ColumnElement[bool]]:
    """The query's conditions besides the owner."""
    now = utcnow()
    conditions: list[ColumnElement[bool]] = []
    if (status := _STATUS[query.effective_status]) is not None:
        conditions.append(status)
    if query.list_id == "inbox":
        conditions.append(TASK.c.list_id.is_(None))
    elif query.list_id is not None:
        conditions.append(TASK.c.list_id == query.list_id)
    if query.parent_id == "none":
        conditions.append(TASK.c.parent_id.is_(None))
    elif query.parent_id is not None:
        conditions.append(TASK.c.parent_id == query.parent_id)
    if query.priority:
        conditions.append(TASK.c.priority.in_(sorted({p.rank for p in query.priority})))
    for tag in query.tag:
        elements = _tag_elements(dialect)
        conditions.append(
            select(literal(1))
            .select_from(elements)
            .where(func.lower(elements.c.value) == func.lower(tag))
            .exists()
        )
    if query.due_before is not None:
        conditions.append(TASK.c.due_date < query.due_before)
    if query.due_after is not None:
        conditions.append(TASK.c.due_date > query.due_after)
    if query.overdue is not None:
        condition = _overdue if query.overdue else _not_overdue
        conditions.append(condition(literal(now, TASK.c.due_at.type), now.date()))
    if query.q:
        # On PostgreSQL, ILIKE is served by the trigram indexes of migration 0002.
        pattern = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                TASK.c.title.ilike(pattern, escape="\\"),
                TASK.c.description.ilike(pattern, escape="\\"),
            )
        )
    return conditions


def _tag_elements(dialect: str) -> TableValuedAlias:
    """The tags of the task in the enclosing query, one row (column `value`) each."""
    if dialect == "postgresql":
        return func.jsonb_array_elements_text(TASK.c.tags).table_valued("value")
    return func.json_each(TASK.c.tags).table_valued("value")


def _sort_key(field: str, descending: bool) -> ColumnElement[Any]:
    if field == "title":
        return func.lower(TASK.c.title)
    if field == "due_date":
        # Tasks without a due date come last, in either direction.
        last = date.min if descending else date.max
        return func.coalesce(TASK.c.due_date, literal(last, Date), type_=Date)
    return TASK.c[field]


def _filtered_page(
    dialect: str, user_id: str, query: TaskListQuery, position: Cursor | None
) -> Select[Any]:
    conditions = _filters(dialect, query)
    fetch = query.limit + 1 + (query.offset or 0)
    if query.sort is None:
        after_id = 0 if position is None else position.id
        columns: list[Any] = _SHOWN
        by_key: tuple[Any, ...] = (TASK.c.id,)
        own = (
            select(*_SHOWN)
            .where(*conditions, *_owned_after_id(user_id, after_id))
            .order_by(TASK.c.user_id, TASK.c.id)
        )
        shared_conditions = [*conditions, TASK.c.id > after_id]

        def order(c: Any) -> tuple[Any, ...]:
            return (c.id,)
    else:
        key = _sort_key(query.sort.field, query.sort.descending)
        descending = query.sort.descending
        if position is not None:
            after = bindparam("after_key", _cursor_value(query.sort.field, position.key), key.type)
            if descending:
                conditions.append(or_(key < after, and_(key == after, TASK.c.id < position.id)))
            else:
                conditions.append(or_(key > after, and_(key == after, TASK.c.id > position.id)))
        by_key = (key.desc(), TASK.c.id.desc()) if descending else (key.asc(), TASK.c.id.asc())
        columns = [*_SHOWN, key.label("sort_key")]
        own = select(*columns).where(*conditions, TASK.c.user_id == user_id).order_by(*by_key)
        shared_conditions = conditions

        def order(c: Any) -> tuple[Any, ...]:
            if descending:
                return (c.sort_key.desc(), c.id.desc())
            return (c.sort_key.asc(), c.id.asc())

    if query.sees_shared:
        shared = shared_part(dialect, columns, shared_conditions, by_key, fetch, user_id)
        statement = with_shared(own.limit(fetch), shared, order, query.limit + 1)
    else:
        statement = own.limit(query.limit + 1)
    if query.offset:
        statement = statement.offset(query.offset)
    return statement


def _cursor_value(field: str, key: object) -> object:
    # Validated by TaskListQuery: the key has the type of the sort column.
    if field in ("created_at", "updated_at"):
        return datetime.fromisoformat(cast(str, key))
    if field == "due_date":
        return date.fromisoformat(cast(str, key))
    return key


async def counts(db: Database, user_id: str, now: datetime) -> TaskCounts:
    """Total, pending, completed, overdue and due-today counts of the user's tasks."""
    row = await db.fetch_one(_STATS, {"owner": user_id, "now": now, "today": now.date()})
    assert row is not None  # an aggregate always returns a row
    return row


@functools.cache
def _tag_counts(dialect: str) -> Rows[TagUse]:
    tag = _tag_elements(dialect)
    folded = func.lower(tag.c.value)
    count = func.count(TASK.c.id.distinct())
    return Rows(
        select(func.min(tag.c.value).label("tag"), count.label("count"))
        .select_from(TASK)
        .join(tag, true())
        .where(OWNER)
        .group_by(folded)
        .order_by(count.desc(), folded)
    )


async def tag_uses(db: Database, user_id: str) -> list[TagUse]:
    """The user's tags (spelt as on the task that sorts first, ignoring case) with task counts,
    most used first."""
    return await db.fetch_all(_tag_counts(db.dialect_name), {"owner": user_id})
