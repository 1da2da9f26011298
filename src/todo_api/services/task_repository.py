"""The task table's SQL: statements, listing filters and keyset pages, reads and writes.

The statements the API runs on every request are built once, here, with named parameters, so
the database layer compiles each of them a single time. Only filtered or sorted listings and
bulk writes build a statement per request. The rules (what a write means) live in
`services.tasks`; nothing here decides anything.
"""

import functools
from datetime import date, datetime
from typing import Any, TypedDict, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Select,
    TableValuedAlias,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)

from todo_api.db import Database, Row
from todo_api.models import Task, TaskRow, table_of, utcnow
from todo_api.schemas.fields import MAX_ID
from todo_api.schemas.listing import Cursor, StatusFilter, TaskListQuery
from todo_api.schemas.tasks import MAX_BULK_TASKS, SHOWN_COLUMNS

TASK = table_of(Task)
_OWNER = TASK.c.user_id == bindparam("owner")
_THIS_TASK = (TASK.c.id == bindparam("task_id")) & _OWNER
_EXPECTED_VERSION = TASK.c.version == bindparam("expected_version")
_NOW = bindparam("now", type_=TASK.c.updated_at.type)
_TODAY = bindparam("today", type_=Date)
_PENDING = TASK.c.completed.is_(False)
_STATUS = {
    StatusFilter.all: None,
    StatusFilter.pending: _PENDING,
    StatusFilter.completed: TASK.c.completed.is_(True),
}
# What the service sets itself when it stores a task; the rest of the columns come from the
# request (or, for a recurring task's next occurrence, from the occurrence before).
_SET_ON_INSERT = {"id", "created_at", "updated_at", "version", "next_occurrence_id"}
CREATED_FIELDS = tuple(column.name for column in TASK.c if column.name not in _SET_ON_INSERT)


def _overdue(now: Any, today: Any) -> ColumnElement[bool]:
    """Pending and past due_at if it has one, else past the whole due_date (UTC)."""
    return and_(
        _PENDING,
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


# What a listing reads: the columns clients see, in the order they see them (schemas.tasks
# then writes the rows as they are).
_SHOWN = [TASK.c[name] for name in SHOWN_COLUMNS]


def _default_page(status: StatusFilter) -> Select[Any]:
    conditions = [*_owned_after_id(bindparam("owner"), bindparam("after_id"))]
    if (condition := _STATUS[status]) is not None:
        conditions.append(condition)
    # One more row than the page holds tells whether another page follows.
    return (
        select(*_SHOWN)
        .where(*conditions)
        .order_by(TASK.c.user_id, TASK.c.id)
        .limit(bindparam("fetch"))
    )


# The default listing (creation order, at most a status filter): one index range scan on
# (user_id, id) with LIMIT, whatever the number of tasks the user (or the table) has.
DEFAULT_LIST = {status: _default_page(status) for status in StatusFilter}
_GET = select(TASK).where(_THIS_TASK)
_GET_FOR_UPDATE = select(TASK).where(_THIS_TASK).with_for_update()
# A new task, RETURNING it (services.changes wraps it to log the creation too).
CREATE = (
    insert(TASK)
    .values(
        {name: bindparam(name, type_=TASK.c[name].type) for name in CREATED_FIELDS}
        | {"created_at": _NOW, "updated_at": _NOW, "version": 1}
    )
    .returning(*TASK.c)
)
_CHANGE_STAMP = {"updated_at": _NOW, "version": TASK.c.version + 1}
# Flipped in SQL, not in Python, so two toggles at once cancel out instead of colliding.
_TOGGLE_VALUES = {
    "completed": ~TASK.c.completed,
    "completed_at": case((TASK.c.completed, None), else_=_NOW),
} | _CHANGE_STAMP
_TOGGLE = update(TASK).where(_THIS_TASK).values(_TOGGLE_VALUES).returning(*TASK.c)
_TOGGLE_IF_MATCH = (
    update(TASK).where(_THIS_TASK, _EXPECTED_VERSION).values(_TOGGLE_VALUES).returning(*TASK.c)
)
_DELETE = delete(TASK).where(_THIS_TASK)
_DELETE_IF_MATCH = delete(TASK).where(_THIS_TASK, _EXPECTED_VERSION)
_DELETE_PENDING = delete(TASK).where(_THIS_TASK, _PENDING)
_STATS = select(
    func.count().label("total"),
    func.count().filter(_PENDING).label("pending"),
    func.count().filter(TASK.c.completed.is_(True)).label("completed"),
    func.count().filter(_overdue(_NOW, _TODAY)).label("overdue"),
    func.count().filter(_PENDING, TASK.c.due_date == _TODAY).label("due_today"),
).where(_OWNER)
# Is there an n-th task? Walks at most n entries of the (user_id, id) index, and nothing
# beyond the user's own entries for everybody below it: no COUNT(*) per create.
_NTH_TASK = select(TASK.c.id).where(_OWNER).offset(bindparam("skip")).limit(1)
# One bulk call touches at most MAX_BULK_TASKS tasks: its transaction holds their locks.
_PENDING_OF_OWNER = (
    select(TASK).where(_OWNER, _PENDING).order_by(TASK.c.id).limit(MAX_BULK_TASKS).with_for_update()
)
_DELETE_COMPLETED = delete(TASK).where(_OWNER, TASK.c.completed.is_(True)).returning(TASK.c.id)


def _identity(task: TaskRow) -> dict[str, Any]:
    return {"task_id": task["id"], "owner": task["user_id"]}


def _row(row: Row) -> TaskRow:
    return cast(TaskRow, row)


def _rows(rows: list[Row]) -> list[TaskRow]:
    return cast(list[TaskRow], rows)


# --- reading ----------------------------------------------------------------------------------


async def page(
    db: Database, user_id: str, query: TaskListQuery, position: Cursor | None
) -> list[TaskRow]:
    """Up to `query.limit + 1` of the user's tasks, from `position` on (the extra one tells
    that another page follows). Sorted pages carry each row's `sort_key` as well."""
    if query.is_default:
        params = {
            "owner": user_id,
            "after_id": 0 if position is None else position.id,
            "fetch": query.limit + 1,
        }
        return _rows(await db.fetch_all(DEFAULT_LIST[query.effective_status], params))
    return _rows(await db.fetch_all(_filtered_page(db.dialect_name, user_id, query, position)))


async def count(db: Database, user_id: str, query: TaskListQuery) -> int:
    """How many of the user's tasks match the query's filters (COUNT(*): grows with them)."""
    statement = select(func.count()).where(
        TASK.c.user_id == user_id, *_filters(db.dialect_name, query)
    )
    return int(await db.scalar(statement))


def _filters(dialect: str, query: TaskListQuery) -> list[ColumnElement[bool]]:
    """The query's conditions besides the owner."""
    now = utcnow()
    conditions: list[ColumnElement[bool]] = []
    if (status := _STATUS[query.effective_status]) is not None:
        conditions.append(status)
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
    if query.sort is None:
        statement = select(*_SHOWN).order_by(TASK.c.user_id, TASK.c.id)
        after_id = 0 if position is None else position.id
        conditions += _owned_after_id(user_id, after_id)
    else:
        conditions.append(TASK.c.user_id == user_id)
        key = _sort_key(query.sort.field, query.sort.descending)
        if query.sort.descending:
            order = (key.desc(), TASK.c.id.desc())
        else:
            order = (key.asc(), TASK.c.id.asc())
        statement = select(*_SHOWN, key.label("sort_key")).order_by(*order)
        if position is not None:
            after = bindparam("after_key", _cursor_value(query.sort.field, position.key), key.type)
            if query.sort.descending:
                conditions.append(or_(key < after, and_(key == after, TASK.c.id < position.id)))
            else:
                conditions.append(or_(key > after, and_(key == after, TASK.c.id > position.id)))
    statement = statement.where(*conditions).limit(query.limit + 1)
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


async def get(db: Database, user_id: str, task_id: int) -> TaskRow | None:
    """The user's task with this id, or None (also for ids no task can have)."""
    if not 1 <= task_id <= MAX_ID:
        return None
    row = await db.fetch_one(_GET, {"task_id": task_id, "owner": user_id})
    return None if row is None else _row(row)


async def lock(tx: Database, task: TaskRow) -> TaskRow | None:
    """The task as stored now, locked until the transaction `tx` ends; None if deleted."""
    row = await tx.fetch_one(_GET_FOR_UPDATE, _identity(task))
    return None if row is None else _row(row)


async def holds_at_least(db: Database, user_id: str, count: int) -> bool:
    """Whether the user holds `count` tasks or more."""
    return await db.fetch_one(_NTH_TASK, {"owner": user_id, "skip": count - 1}) is not None


class TaskCounts(TypedDict):
    """The user's tasks counted by state ("today" is the UTC day)."""

    total: int
    pending: int
    completed: int
    overdue: int
    due_today: int


async def counts(db: Database, user_id: str, now: datetime) -> TaskCounts:
    """Total, pending, completed, overdue and due-today counts of the user's tasks."""
    row = await db.fetch_one(_STATS, {"owner": user_id, "now": now, "today": now.date()})
    assert row is not None  # an aggregate always returns a row
    return cast(TaskCounts, row)


class TagUse(TypedDict):
    """A tag and the number of the user's tasks carrying it."""

    tag: str
    count: int


@functools.cache
def _tag_counts(dialect: str) -> Select[Any, int]:
    tag = _tag_elements(dialect)
    folded = func.lower(tag.c.value)
    count = func.count(TASK.c.id.distinct())
    return (
        select(func.min(tag.c.value).label("tag"), count.label("count"))
        .select_from(TASK)
        .join(tag, true())
        .where(_OWNER)
        .group_by(folded)
        .order_by(count.desc(), folded)
    )


async def tag_uses(db: Database, user_id: str) -> list[TagUse]:
    """The user's tags (spelt as on the task that sorts first, ignoring case) with task counts,
    most used first."""
    return cast(list[TagUse], await db.fetch_all(_tag_counts(db.dialect_name), {"owner": user_id}))


# --- writing ----------------------------------------------------------------------------------


async def insert_one(db: Database, values: dict[str, Any], now: datetime) -> TaskRow:
    """Store a new task: every name of CREATED_FIELDS in `values`, created `now`."""
    row = await db.fetch_one(CREATE, values | {"now": now})
    assert row is not None  # INSERT … RETURNING always returns the row
    return _row(row)


@functools.cache
def _update_statement(fields: frozenset[str], if_match: bool) -> Update:
    """UPDATE for this set of fields, built once per set (PUT and PATCH send few shapes)."""
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=TASK.c[name].type) for name in fields
    }
    if "completed" in fields and "completed_at" not in fields:
        # Set when the task becomes completed, cleared when it is reopened, else kept.
        new = bindparam("new_completed", type_=Boolean)
        values["completed_at"] = case(
            (TASK.c.completed == new, TASK.c.completed_at), (new, _NOW), else_=None
        )
    where = [_THIS_TASK, _EXPECTED_VERSION] if if_match else [_THIS_TASK]
    return update(TASK).where(*where).values(values | _CHANGE_STAMP).returning(*TASK.c)


async def update_fields(
    db: Database, task: TaskRow, changes: dict[str, Any], version: int | None, now: datetime
) -> TaskRow | None:
    """Write `changes` (columns by name) and bump the version; None if no row had the task's
    id (deleted) or, when `version` is given, that version (changed meanwhile)."""
    params = {f"new_{name}": value for name, value in changes.items()}
    params |= _identity(task) | {"now": now, "expected_version": version}
    row = await db.fetch_one(_update_statement(frozenset(changes), version is not None), params)
    return None if row is None else _row(row)


async def toggle(db: Database, task: TaskRow, version: int | None, now: datetime) -> TaskRow | None:
    """Flip `completed` in SQL; None as for update_fields."""
    statement, params = _TOGGLE, _identity(task) | {"now": now}
    if version is not None:
        statement, params = _TOGGLE_IF_MATCH, params | {"expected_version": version}
    row = await db.fetch_one(statement, params)
    return None if row is None else _row(row)


async def delete_one(db: Database, task: TaskRow, version: int | None) -> bool:
    """Delete the task (only if it has `version`, when given); whether a row was deleted."""
    if version is None:
        return bool(await db.execute(_DELETE, _identity(task)))
    return bool(await db.execute(_DELETE_IF_MATCH, _identity(task) | {"expected_version": version}))


async def delete_if_pending(db: Database, user_id: str, task_id: int) -> bool:
    """Delete the user's task `task_id` unless it is completed; whether it was deleted."""
    return bool(await db.execute(_DELETE_PENDING, {"task_id": task_id, "owner": user_id}))


async def lock_pending(tx: Database, user_id: str, ids: list[int] | None) -> list[TaskRow]:
    """The user's pending tasks (those of `ids`, or the oldest MAX_BULK_TASKS), in id order,
    locked until `tx` ends."""
    statement = _PENDING_OF_OWNER
    if ids:
        # Per-request statements carry their values: IN lists are rendered with them.
        statement = (
            select(TASK)
            .where(TASK.c.user_id == user_id, _PENDING, TASK.c.id.in_(sorted(set(ids))))
            .order_by(TASK.c.id)
            .with_for_update()
        )
    return _rows(await tx.fetch_all(statement, {"owner": user_id}))


async def complete_all(db: Database, user_id: str, ids: list[int], now: datetime) -> list[TaskRow]:
    """Mark the user's pending tasks of `ids` completed, in one statement; those, in id order."""
    statement: Update = (
        update(TASK)
        .where(TASK.c.user_id == user_id, _PENDING, TASK.c.id.in_(ids))
        .values(
            completed=True,
            completed_at=literal(now, TASK.c.completed_at.type),
            updated_at=literal(now, TASK.c.updated_at.type),
            version=TASK.c.version + 1,
        )
        .returning(*TASK.c)
    )
    return sorted(_rows(await db.fetch_all(statement)), key=lambda row: row["id"])


async def delete_completed(db: Database, user_id: str) -> list[int]:
    """Delete every completed task of the user, in one statement; the ids deleted, in order."""
    rows = await db.fetch_all(_DELETE_COMPLETED, {"owner": user_id})
    return sorted(row["id"] for row in rows)
