"""Tasks: listing, creating, changing and deleting one user's todo items.

The statements the API runs on every request are built once, here, with named parameters, so
the database layer compiles each of them a single time. Only filtered or sorted listings build
a statement per request.
"""

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Table,
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

from todo_api.auth import Principal
from todo_api.db import Database, IntegrityViolation, Row
from todo_api.models import IdempotencyKey, Task, utcnow
from todo_api.schemas import (
    MAX_ID,
    SHOWN_COLUMNS,
    BulkComplete,
    Cursor,
    Priority,
    Recurrence,
    StatusFilter,
    TaskCreate,
    TaskListQuery,
    TaskRead,
)
from todo_api.services.recurrence import next_due
from todo_api.services.users import KnownUsers, ensure_user


class TaskNotFound(LookupError):
    """No task with that id belongs to the caller (it may belong to somebody else)."""


class PreconditionFailed(Exception):
    """`If-Match` named a version the task no longer has: nothing was changed."""


class IdempotencyKeyReused(Exception):
    """An `Idempotency-Key` came back with a different request body."""


IDEMPOTENCY_TTL = timedelta(hours=24)


class TaskLimitReached(Exception):
    """The user already holds as many tasks as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


# Task ids are a 32-bit column: larger ids cannot exist, and PostgreSQL rejects them outright.
MAX_TASK_ID = 2**31 - 1

TASK: Table = Task.__table__  # type: ignore[assignment]
KEY: Table = IdempotencyKey.__table__  # type: ignore[assignment]
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


# The owner's tasks after `after_id`, in id order, spelt so that only the (user_id, id) index
# can serve it: with `user_id = $1 ORDER BY id`, PostgreSQL's generic plans walk the primary
# key instead and filter by owner, which scans the whole table for a user with few tasks.
_OWNED_AFTER_ID = (
    tuple_(TASK.c.user_id, TASK.c.id) > tuple_(bindparam("owner"), bindparam("after_id")),
    TASK.c.user_id <= bindparam("owner"),
)


# What a listing reads: the columns clients see, in the order they see them (schemas.tasks_json
# then writes the rows as they are).
_SHOWN = [TASK.c[name] for name in SHOWN_COLUMNS]


def _default_page(status: StatusFilter) -> Any:
    conditions = [*_OWNED_AFTER_ID]
    if _STATUS[status] is not None:
        conditions.append(_STATUS[status])
    # One more row than the page holds tells whether another page follows.
    return (
        select(*_SHOWN)
        .where(*conditions)
        .order_by(TASK.c.user_id, TASK.c.id)
        .limit(bindparam("fetch"))
    )


# The default listing (creation order, at most a status filter): one index range scan on
# (user_id, id) with LIMIT, whatever the number of tasks the user (or the table) has.
_DEFAULT_LIST = {status: _default_page(status) for status in StatusFilter}
_GET = select(TASK).where(_THIS_TASK)
_GET_FOR_UPDATE = select(TASK).where(_THIS_TASK).with_for_update()
# Everything a new task (or a recurring task's next occurrence) is made of.
_CREATED_FIELDS = (
    "user_id",
    "title",
    "description",
    "completed",
    "completed_at",
    "priority",
    "due_date",
    "due_at",
    "tags",
    "recurrence",
    "recurrence_interval",
    "recurrence_anchor",
)
_CREATE = (
    insert(TASK)
    .values(
        {name: bindparam(name, type_=TASK.c[name].type) for name in _CREATED_FIELDS}
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
# Undoing a completion removes the occurrence it created, unless that one is done too.
_DELETE_PENDING_OCCURRENCE = delete(TASK).where(
    TASK.c.id == bindparam("occurrence_id"), _OWNER, _PENDING
)
_STATS = select(
    func.count().label("total"),
    func.count().filter(_PENDING).label("pending"),
    func.count().filter(TASK.c.completed.is_(True)).label("completed"),
    func.count().filter(_overdue(_NOW, _TODAY)).label("overdue"),
    func.count().filter(_PENDING, TASK.c.due_date == _TODAY).label("due_today"),
).where(_OWNER)
# Is there a `limit`-th task? Walks at most `limit` entries of the (user_id, id) index, and
# nothing beyond the user's own entries for everybody below it: no COUNT(*) per create.
_NTH_TASK = select(TASK.c.id).where(_OWNER).offset(bindparam("skip")).limit(1)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, and how to get the next."""

    tasks: list[Row]
    next_cursor: str | None = None
    next_offset: int | None = None
    total: int | None = None


async def list_tasks(db: Database, user_id: str, query: TaskListQuery) -> Page:
    """A page of the user's tasks, filtered and sorted as the query asks."""
    position = query.position()
    if query.is_default:
        params = {
            "owner": user_id,
            "after_id": 0 if position is None else position.id,
            "fetch": query.limit + 1,
        }
        rows = await db.fetch_all(_DEFAULT_LIST[query.effective_status], params)
    else:
        rows = await db.fetch_all(_filtered_list(db.dialect_name, user_id, query, position))
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = next_offset = total = None
    if has_more and query.offset is not None:
        next_offset = query.offset + query.limit
    elif has_more:
        key = rows[-1].get("sort_key")
        if isinstance(key, date):  # datetimes too
            key = key.isoformat()
        next_cursor = Cursor(sort=query.sort_name, key=key, id=rows[-1]["id"]).encode()
    if query.count:
        # COUNT(*) grows with the user's tasks: only when asked for.
        filters = _filters(db.dialect_name, query)
        count = select(func.count()).where(TASK.c.user_id == user_id, *filters)
        total = await db.scalar(count)
    elif not has_more and position is None and not query.offset:
        # The whole result is on this first page: its count costs nothing.
        total = len(rows)
    return Page(rows, next_cursor, next_offset, total)


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


def _tag_elements(dialect: str) -> Any:
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


def _filtered_list(
    dialect: str, user_id: str, query: TaskListQuery, position: Cursor | None
) -> Any:
    conditions = _filters(dialect, query)
    if query.sort is None:
        statement = select(*_SHOWN).order_by(TASK.c.user_id, TASK.c.id)
        after_id = 0 if position is None else position.id
        conditions += [
            tuple_(TASK.c.user_id, TASK.c.id) > tuple_(user_id, after_id),
            TASK.c.user_id <= user_id,
        ]
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


def _cursor_value(field: str, key: Any) -> Any:
    # Validated by TaskListQuery: the key has the type of the sort column.
    if field in ("created_at", "updated_at"):
        return datetime.fromisoformat(key)
    if field == "due_date":
        return date.fromisoformat(key)
    return key


async def get_task(db: Database, user_id: str, task_id: int) -> Row:
    """The task with this id if it belongs to the user; TaskNotFound for anybody else's."""
    task = None
    if 1 <= task_id <= MAX_ID:
        task = await db.fetch_one(_GET, {"task_id": task_id, "owner": user_id})
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def task_stats(db: Database, user_id: str) -> Row:
    """Counts of the user's tasks: total, pending, completed, overdue, due today (UTC)."""
    now = utcnow()
    row = await db.fetch_one(_STATS, {"owner": user_id, "now": now, "today": now.date()})
    assert row is not None  # an aggregate always returns a row
    return row


@functools.cache
def _tag_counts(dialect: str) -> Any:
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


async def tag_counts(db: Database, user_id: str) -> list[Row]:
    """The user's tags (spelt as on the task that sorts first, ignoring case) with task counts,
    most used first."""
    return await db.fetch_all(_tag_counts(db.dialect_name), {"owner": user_id})


# --- ETags ------------------------------------------------------------------------------------


def etag(task: Row | dict[str, Any]) -> str:
    """The task's entity tag: its version, which every write bumps, and its creation time
    (SQLite may reuse the id of a deleted task; the new one must not match the old tag)."""
    created = task["created_at"]
    if isinstance(created, str):  # a stored response body
        created = datetime.fromisoformat(created)
    return f'"{task["version"]}-{round(created.timestamp() * 1_000_000):x}"'


def _tags_in(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def expected_version(if_match: str | None, task: Row) -> int | None:
    """The version a write must find (None: any), or PreconditionFailed if already stale.

    Compared with the task the request already loaded, so it costs no query.
    """
    if if_match is None:
        return None
    tags = _tags_in(if_match)
    if "*" in tags:
        return None
    if etag(task) not in tags:  # strong comparison: a weak W/"…" never matches
        raise PreconditionFailed(task["id"])
    return task["version"]


def not_modified(if_none_match: str | None, task: Row) -> bool:
    """Whether `If-None-Match` names the task's current version (weak comparison)."""
    if if_none_match is None:
        return False
    tags = [tag.removeprefix("W/") for tag in _tags_in(if_none_match)]
    return "*" in tags or etag(task) in tags


# --- writing ----------------------------------------------------------------------------------


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """Request fields as the table stores them."""
    columns = dict(data)
    if isinstance(priority := columns.get("priority"), Priority):
        columns["priority"] = priority.rank
    if isinstance(recurrence := columns.get("recurrence"), Recurrence):
        columns["recurrence"] = recurrence.value
    return columns


def _new_task_params(owner: str, data: TaskCreate, now: datetime) -> dict[str, Any]:
    params = _columns(data.model_dump())
    params |= {
        "user_id": owner,
        "now": now,
        "completed_at": now if data.completed else None,
        "recurrence_anchor": data.due_date if data.recurrence else None,
    }
    return params


async def _check_task_limit(db: Database, user_id: str, max_tasks: int) -> None:
    # Creates racing each other near the limit may overshoot it by the number of concurrent
    # requests of that one user; their rate limit bounds that.
    if max_tasks and await db.fetch_one(_NTH_TASK, {"owner": user_id, "skip": max_tasks - 1}):
        raise TaskLimitReached(max_tasks)


async def create_task(
    db: Database,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    *,
    max_tasks: int = 0,
) -> Row:
    """Store a new task for the user; TaskLimitReached if they hold `max_tasks` (0: no limit)."""
    await _check_task_limit(db, owner.user_id, max_tasks)
    params = _new_task_params(owner.user_id, data, utcnow())
    try:
        return await _insert(db, params)
    except IntegrityViolation:
        # The user row vanished after we cached it (deleted by Better Auth, say): recreate it.
        known_users.forget(owner.user_id)
        await ensure_user(db, owner, known_users)
        return await _insert(db, params)


_GET_KEY = select(KEY.c.request_hash, KEY.c.status_code, KEY.c.response).where(
    KEY.c.user_id == bindparam("owner"),
    KEY.c.key == bindparam("key"),
    KEY.c.created_at >= bindparam("cutoff", type_=KEY.c.created_at.type),
)
_PURGE_KEYS = delete(KEY).where(
    KEY.c.user_id == bindparam("owner"),
    KEY.c.created_at < bindparam("cutoff", type_=KEY.c.created_at.type),
)
_STORE_KEY = insert(KEY).values(
    user_id=bindparam("owner"),
    key=bindparam("key"),
    request_hash=bindparam("request_hash"),
    status_code=bindparam("status_code"),
    response=bindparam("response", type_=KEY.c.response.type),
    created_at=bindparam("now", type_=KEY.c.created_at.type),
)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response to replay for an idempotent request."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


async def create_task_once(
    db: Database,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    key: str,
    *,
    max_tasks: int = 0,
) -> StoredResponse:
    """Create a task unless this `Idempotency-Key` already did (then replay that response).

    The key and the response are stored with the task in one transaction, so a retry racing
    the first request either finds the key or fails on it and replays.
    """
    now = utcnow()
    lookup = {"owner": owner.user_id, "key": key, "cutoff": now - IDEMPOTENCY_TTL}
    request_hash = hashlib.sha256(data.model_dump_json().encode()).hexdigest()
    if (stored := await db.fetch_one(_GET_KEY, lookup)) is not None:
        return _replay(stored, request_hash)
    await _check_task_limit(db, owner.user_id, max_tasks)
    await ensure_user(db, owner, known_users)
    for attempt in range(2):
        try:
            async with db.transaction() as tx:
                await tx.execute(_PURGE_KEYS, lookup)
                task = await _insert(tx, _new_task_params(owner.user_id, data, now))
                body = TaskRead.model_validate(task).model_dump(mode="json")
                stored_key = {"request_hash": request_hash, "status_code": 201, "response": body}
                await tx.execute(_STORE_KEY, lookup | stored_key | {"now": now})
            break
        except IntegrityViolation:
            if (stored := await db.fetch_one(_GET_KEY, lookup)) is not None:
                return _replay(stored, request_hash)
            if attempt:
                raise
            # Not the key: the user row vanished after we cached it (as in create_task).
            known_users.forget(owner.user_id)
            await ensure_user(db, owner, known_users)
    return StoredResponse(201, body, replayed=False)


def _replay(stored: Row, request_hash: str) -> StoredResponse:
    if stored["request_hash"] != request_hash:
        raise IdempotencyKeyReused()
    return StoredResponse(stored["status_code"], stored["response"], replayed=True)


async def _insert(db: Database, params: dict[str, Any]) -> Row:
    row = await db.fetch_one(_CREATE, params)
    assert row is not None  # INSERT … RETURNING always returns the row
    return row


@functools.cache
def _update_statement(fields: frozenset[str], if_match: bool) -> Any:
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


def _with_anchor(task: Row, changes: dict[str, Any]) -> dict[str, Any]:
    # A new due date or rule restarts the series there (month ends count from it).
    if "due_date" in changes or "recurrence" in changes:
        recurring = changes.get("recurrence", task["recurrence"])
        due = changes.get("due_date", task["due_date"])
        changes["recurrence_anchor"] = due if recurring else None
    return changes


async def update_task(
    db: Database, task: Row, changes: dict[str, Any], version: int | None = None
) -> Row:
    """Write the changed fields (from TaskUpdate/TaskPatch.changes()); bump the version.

    `version`: only if the task still has it (If-Match), else PreconditionFailed.
    Completing a recurring task also creates its next occurrence; reopening it removes that.
    """
    changes = _with_anchor(task, _columns(changes))
    recurring = task["recurrence"] or changes.get("recurrence") or task["next_occurrence_id"]
    if "completed" in changes and recurring:
        async with db.transaction() as tx:
            return await _update_recurring(tx, task, changes, version)
    params = {f"new_{name}": value for name, value in changes.items()}
    params |= _identity(task) | {"now": utcnow(), "expected_version": version}
    statement = _update_statement(frozenset(changes), version is not None)
    return await _written(db, await db.fetch_one(statement, params), task)


async def toggle_task(db: Database, task: Row, version: int | None = None) -> Row:
    """Flip the task between pending and completed (see update_task for recurring tasks)."""
    if task["recurrence"] or task["next_occurrence_id"]:
        async with db.transaction() as tx:
            return await _update_recurring(tx, task, None, version)
    statement, params = _TOGGLE, _identity(task) | {"now": utcnow()}
    if version is not None:
        statement, params = _TOGGLE_IF_MATCH, params | {"expected_version": version}
    return await _written(db, await db.fetch_one(statement, params), task)


async def _update_recurring(
    tx: Database, task: Row, changes: dict[str, Any] | None, version: int | None
) -> Row:
    """Inside a transaction, on the locked row: the change plus the series bookkeeping."""
    current = await tx.fetch_one(_GET_FOR_UPDATE, _identity(task))
    if current is None:
        raise TaskNotFound(task["id"])
    if version is not None and current["version"] != version:
        raise PreconditionFailed(task["id"])
    now = utcnow()
    if changes is None:  # a toggle, decided on the locked row
        changes = {"completed": not current["completed"]}
    changes = dict(changes)
    completing = changes["completed"] and not current["completed"]
    reopening = current["completed"] and not changes["completed"]
    if completing:
        successor = current | changes
        if successor["recurrence"]:
            changes["next_occurrence_id"] = await _create_next_occurrence(tx, successor, now)
    elif reopening and current["next_occurrence_id"] is not None:
        await tx.execute(
            _DELETE_PENDING_OCCURRENCE,
            {"occurrence_id": current["next_occurrence_id"], "owner": current["user_id"]},
        )
        changes["next_occurrence_id"] = None
    params = {f"new_{name}": value for name, value in changes.items()}
    params |= _identity(task) | {"now": now, "expected_version": None}
    changed = await tx.fetch_one(_update_statement(frozenset(changes), False), params)
    assert changed is not None  # the row is locked
    return changed


async def _create_next_occurrence(tx: Database, task: Row, now: datetime) -> int | None:
    """Insert the series' next occurrence after `task` (its values as they will be stored)."""
    current_due = task["due_date"] or now.date()
    anchor = task["recurrence_anchor"] or current_due
    due = next_due(current_due, Recurrence(task["recurrence"]), task["recurrence_interval"], anchor)
    if due is None:  # past the end of the calendar: the series ends here
        return None
    due_at = task["due_at"]
    if due_at is not None:
        due_at = datetime.combine(due, due_at.astimezone(UTC).time(), UTC)
    params = {name: task[name] for name in _CREATED_FIELDS}
    params |= {
        "completed": False,
        "completed_at": None,
        "due_date": due,
        "due_at": due_at,
        "recurrence_anchor": anchor,
        "now": now,
    }
    return (await _insert(tx, params))["id"]


async def delete_task(db: Database, task: Row, version: int | None = None) -> None:
    """Remove the task for good (only if it still has `version`, when given)."""
    if version is None:
        deleted = await db.execute(_DELETE, _identity(task))
    else:
        deleted = await db.execute(
            _DELETE_IF_MATCH, _identity(task) | {"expected_version": version}
        )
    if not deleted:
        await _written(db, None, task)


def _identity(task: Row) -> dict[str, Any]:
    return {"task_id": task["id"], "owner": task["user_id"]}


async def _written(db: Database, changed: Row | None, task: Row) -> Row:
    """The changed row; when none was: deleted meanwhile (404) or changed meanwhile (412)."""
    if changed is not None:
        return changed
    if await db.fetch_one(_GET, _identity(task)) is None:
        raise TaskNotFound(task["id"])
    raise PreconditionFailed(task["id"])


# --- bulk -------------------------------------------------------------------------------------

_PENDING_OF_OWNER = select(TASK).where(_OWNER, _PENDING).order_by(TASK.c.id).with_for_update()
_DELETE_COMPLETED = delete(TASK).where(_OWNER, TASK.c.completed.is_(True)).returning(TASK.c.id)


async def complete_tasks(db: Database, user_id: str, selection: BulkComplete) -> list[int]:
    """Complete the selected pending tasks (or all pending ones) in one transaction; the ids
    completed. Recurring ones get their next occurrence, as when completed one by one."""
    async with db.transaction() as tx:
        # Per-request statements carry their values: IN lists are rendered with them.
        statement = _PENDING_OF_OWNER
        if selection.ids:
            statement = (
                select(TASK)
                .where(
                    TASK.c.user_id == user_id, _PENDING, TASK.c.id.in_(sorted(set(selection.ids)))
                )
                .order_by(TASK.c.id)
                .with_for_update()
            )
        tasks = await tx.fetch_all(statement, {"owner": user_id})
        plain = []
        for task in tasks:
            if task["recurrence"] or task["next_occurrence_id"]:
                await _update_recurring(tx, task, {"completed": True}, None)
            else:
                plain.append(task["id"])
        if plain:
            now = utcnow()
            await tx.execute(
                update(TASK)
                .where(TASK.c.user_id == user_id, _PENDING, TASK.c.id.in_(plain))
                .values(
                    completed=True,
                    completed_at=literal(now, TASK.c.completed_at.type),
                    updated_at=literal(now, TASK.c.updated_at.type),
                    version=TASK.c.version + 1,
                )
            )
    return [task["id"] for task in tasks]


async def delete_completed(db: Database, user_id: str) -> list[int]:
    """Delete every completed task of the user, in one statement; the ids deleted."""
    rows = await db.fetch_all(_DELETE_COMPLETED, {"owner": user_id})
    return sorted(row["id"] for row in rows)
