"""The task table's SQL for one task (or a bulk write): reads by id, locks, inserts, updates,
toggles and deletes. Listings, counts and tags are in `queries.py`.

The statements the API runs on every request are built once, here, with named parameters, so
the database layer compiles each of them a single time; each is typed with the rows it returns.
The rules (what a write means) live in `service.py`; nothing here decides anything.
"""

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Boolean,
    Text,
    Update,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from todo_api.core.database import Database, NewRecord, Rows, Store, UnitOfWork, table_of
from todo_api.core.fields import MAX_ID
from todo_api.tasks import actor
from todo_api.tasks.models import Task, TaskRow
from todo_api.tasks.schemas import MAX_BULK_TASKS

TASK = table_of(Task)
OWNER = TASK.c.user_id == bindparam("owner")
PENDING = TASK.c.completed.is_(False)
NOW = bindparam("now", type_=TASK.c.updated_at.type)
THIS_TASK = (TASK.c.id == bindparam("task_id")) & OWNER
EXPECTED_VERSION = TASK.c.version == bindparam("expected_version")
# Who completes a task: the user writing (`actor.py`), else its owner.
_ACTOR = func.coalesce(bindparam("actor", type_=Text), TASK.c.user_id)
# What the service sets itself when it stores a task; the rest of the columns come from the
# request (or, for a recurring task's next occurrence, from the occurrence before).
_SET_ON_INSERT = {
    "id",
    "created_at",
    "updated_at",
    "version",
    "next_occurrence_id",
    # A new task has no subtasks yet (the columns' defaults).
    "subtask_count",
    "completed_subtask_count",
}
CREATED_FIELDS = tuple(column.name for column in TASK.c if column.name not in _SET_ON_INSERT)

_GET = Rows[TaskRow](select(TASK).where(THIS_TASK))
_GET_FOR_UPDATE = Rows[TaskRow](select(TASK).where(THIS_TASK).with_for_update())
# A new task, RETURNING it.
_CREATE = Rows[TaskRow](
    insert(TASK)
    .values(
        {name: bindparam(name, type_=TASK.c[name].type) for name in CREATED_FIELDS}
        | {"created_at": NOW, "updated_at": NOW, "version": 1}
        | {"subtask_count": 0, "completed_subtask_count": 0}
    )
    .returning(*TASK.c)
)
_CHANGE_STAMP = {"updated_at": NOW, "version": TASK.c.version + 1}
# Flipped in SQL, not in Python, so two toggles at once cancel out instead of colliding.
_TOGGLE_VALUES = {
    "completed": ~TASK.c.completed,
    "completed_at": case((TASK.c.completed, None), else_=NOW),
    "completed_by": case((TASK.c.completed, None), else_=_ACTOR),
} | _CHANGE_STAMP
_TOGGLE = Rows[TaskRow](update(TASK).where(THIS_TASK).values(_TOGGLE_VALUES).returning(*TASK.c))
_TOGGLE_IF_MATCH = Rows[TaskRow](
    update(TASK).where(THIS_TASK, EXPECTED_VERSION).values(_TOGGLE_VALUES).returning(*TASK.c)
)
_DELETE = delete(TASK).where(THIS_TASK)
_DELETE_IF_MATCH = delete(TASK).where(THIS_TASK, EXPECTED_VERSION)
_DELETE_PENDING = delete(TASK).where(THIS_TASK, PENDING)
# Is there an n-th task? Walks at most n entries of the (user_id, id) index, and nothing
# beyond the user's own entries for everybody below it: no COUNT(*) per create.
_NTH_TASK = select(TASK.c.id).where(OWNER).offset(bindparam("skip")).limit(1)
# One bulk call touches at most MAX_BULK_TASKS tasks: its transaction holds their locks.
_PENDING_OF_OWNER = Rows[TaskRow](
    select(TASK).where(OWNER, PENDING).order_by(TASK.c.id).limit(MAX_BULK_TASKS).with_for_update()
)
_DONE = TASK.c.completed.is_(True)


def _doomed() -> Any:
    """The owner's completed tasks and every task under them, held until the transaction ends
    (the database deletes a task's subtasks with it: a RETURNING would not name them)."""
    doomed = select(TASK.c.id).where(OWNER, _DONE).cte("doomed", recursive=True)
    below = TASK.alias("below")
    doomed = doomed.union(
        select(below.c.id).select_from(below).join(doomed, below.c.parent_id == doomed.c.id)
    )
    return (
        select(TASK.c.id, TASK.c.list_id)
        .where(OWNER, TASK.c.id.in_(select(doomed.c.id)))
        .order_by(TASK.c.id)
        .with_for_update()
    )


_DOOMED = _doomed()
# The parents whose subtasks `_DELETE_COMPLETED` deletes (their counts change).
_PARENTS_OF_COMPLETED = (
    select(TASK.c.parent_id)
    .where(OWNER, _DONE, TASK.c.parent_id.is_not(None))
    .distinct()
    .order_by(TASK.c.parent_id)
)


def identity(task: TaskRow) -> dict[str, Any]:
    return {"task_id": task["id"], "owner": task["user_id"]}


# --- reading ----------------------------------------------------------------------------------


async def get(db: Database, user_id: str, task_id: int) -> TaskRow | None:
    """The user's task with this id, or None (also for ids no task can have)."""
    if not 1 <= task_id <= MAX_ID:
        return None
    return await db.fetch_one(_GET, {"task_id": task_id, "owner": user_id})


# Reads of many tasks by id take one of these statements, the ids padded to its size with 0
# (no task's id): each is built and compiled once, as a statement of any other size would be
# on every request.
_MANY_SIZES = (1, 8, 64, 512)


@functools.cache
def _get_many(size: int) -> Rows[TaskRow]:
    ids: list[BindParameter[Any]] = [bindparam(f"id_{index}") for index in range(size)]
    return Rows[TaskRow](select(TASK).where(OWNER, TASK.c.id.in_(ids)))


async def get_many(db: Database, user_id: str, task_ids: list[int]) -> list[TaskRow]:
    """The user's tasks among these ids, by id (ids no task can have are left out)."""
    ids = sorted({task_id for task_id in task_ids if 1 <= task_id <= MAX_ID})
    rows: list[TaskRow] = []
    while ids:
        size = next((n for n in _MANY_SIZES if n >= len(ids)), _MANY_SIZES[-1])
        chunk, ids = ids[:size], ids[size:]
        params: dict[str, object] = {f"id_{i}": 0 for i in range(size)}
        params |= {f"id_{i}": task_id for i, task_id in enumerate(chunk)}
        rows += await db.fetch_all(_get_many(size), params | {"owner": user_id})
    return sorted(rows, key=lambda row: row["id"])


async def lock(tx: Database, task: TaskRow) -> TaskRow | None:
    """The task as stored now, locked until the transaction `tx` ends; None if deleted."""
    return await tx.fetch_one(_GET_FOR_UPDATE, identity(task))


async def holds_at_least(db: Database, user_id: str, count: int) -> bool:
    """Whether the user holds `count` tasks or more."""
    return await db.fetch_one(_NTH_TASK, {"owner": user_id, "skip": count - 1}) is not None


# --- writing ----------------------------------------------------------------------------------


async def create(
    writer: Store | UnitOfWork, values: dict[str, Any], now: datetime, logged: NewRecord
) -> TaskRow:
    """Store a new task (every name of CREATED_FIELDS in `values`, created `now`), its creation
    logged as `logged` says: a write of its own on a `Store`, or part of a unit of work."""
    return await writer.create(_CREATE, values | {"now": now}, logged)


@functools.cache
def update_statement(fields: frozenset[str], if_match: bool) -> Rows[TaskRow]:
    """UPDATE for this set of fields, built once per set (PUT and PATCH send few shapes)."""
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=TASK.c[name].type) for name in fields
    }
    if "completed" in fields and "completed_at" not in fields:
        # Set when the task becomes completed, cleared when it is reopened, else kept.
        new = bindparam("new_completed", type_=Boolean)
        values["completed_at"] = case(
            (TASK.c.completed == new, TASK.c.completed_at), (new, NOW), else_=None
        )
        values["completed_by"] = case(
            (TASK.c.completed == new, TASK.c.completed_by), (new, _ACTOR), else_=None
        )
    where = [THIS_TASK, EXPECTED_VERSION] if if_match else [THIS_TASK]
    return Rows(update(TASK).where(*where).values(values | _CHANGE_STAMP).returning(*TASK.c))


async def update_fields(
    db: Database, task: TaskRow, changes: dict[str, Any], version: int | None, now: datetime
) -> TaskRow | None:
    """Write `changes` (columns by name) and bump the version; None if no row had the task's
    id (deleted) or, when `version` is given, that version (changed meanwhile)."""
    params = {f"new_{name}": value for name, value in changes.items()}
    params |= identity(task) | {"now": now, "expected_version": version}
    params["actor"] = actor.current()
    return await db.fetch_one(update_statement(frozenset(changes), version is not None), params)


async def toggle(db: Database, task: TaskRow, version: int | None, now: datetime) -> TaskRow | None:
    """Flip `completed` in SQL; None as for update_fields."""
    statement, params = _TOGGLE, identity(task) | {"now": now, "actor": actor.current()}
    if version is not None:
        statement, params = _TOGGLE_IF_MATCH, params | {"expected_version": version}
    return await db.fetch_one(statement, params)


async def delete_one(db: Database, task: TaskRow, version: int | None) -> bool:
    """Delete the task (only if it has `version`, when given); whether a row was deleted."""
    if version is None:
        return bool(await db.execute(_DELETE, identity(task)))
    return bool(await db.execute(_DELETE_IF_MATCH, identity(task) | {"expected_version": version}))


async def delete_if_pending(db: Database, user_id: str, task_id: int) -> bool:
    """Delete the user's task `task_id` unless it is completed; whether it was deleted."""
    return bool(await db.execute(_DELETE_PENDING, {"task_id": task_id, "owner": user_id}))


async def lock_pending(tx: Database, user_id: str, ids: list[int] | None) -> list[TaskRow]:
    """The user's pending tasks (those of `ids`, or the oldest MAX_BULK_TASKS), in id order,
    locked until `tx` ends."""
    statement = _PENDING_OF_OWNER
    if ids:
        # Per-request statements carry their values: IN lists are rendered with them.
        statement = Rows(
            select(TASK)
            .where(TASK.c.user_id == user_id, PENDING, TASK.c.id.in_(sorted(set(ids))))
            .order_by(TASK.c.id)
            .with_for_update()
        )
    return await tx.fetch_all(statement, {"owner": user_id})


async def complete_all(db: Database, user_id: str, ids: list[int], now: datetime) -> list[TaskRow]:
    """Mark the user's pending tasks of `ids` completed, in one statement; those, in id order."""
    statement: Update = (
        update(TASK)
        .where(TASK.c.user_id == user_id, PENDING, TASK.c.id.in_(ids))
        .values(
            completed=True,
            completed_at=literal(now, TASK.c.completed_at.type),
            completed_by=literal(actor.current() or user_id, Text),
            updated_at=literal(now, TASK.c.updated_at.type),
            version=TASK.c.version + 1,
        )
        .returning(*TASK.c)
    )
    rows = await db.fetch_all(Rows[TaskRow](statement))
    return sorted(rows, key=lambda row: row["id"])


async def parents_of_completed(db: Database, user_id: str) -> list[int]:
    """The tasks with a completed subtask, in id order."""
    rows = await db.fetch_all(_PARENTS_OF_COMPLETED, {"owner": user_id})
    return [row["parent_id"] for row in rows]


async def delete_completed(db: Database, user_id: str) -> list[tuple[int, int | None]]:
    """Delete every completed task of the user and every task under one; the ids deleted, in
    order, each with its list's."""
    doomed = [
        (row["id"], row["list_id"]) for row in await db.fetch_all(_DOOMED, {"owner": user_id})
    ]
    await delete_ids(db, user_id, [task_id for task_id, _ in doomed])
    return doomed


# --- lists, subtasks and order ------------------------------------------------------------------

_IN_LIST = TASK.c.list_id == bindparam("list_id")
_IN_LIST_HELD = select(TASK.c.id).where(OWNER, _IN_LIST).order_by(TASK.c.id).with_for_update()
_SET_PLACE = (
    update(TASK)
    .where(THIS_TASK)
    .values(
        list_id=bindparam("list_id"),
        parent_id=bindparam("parent_id"),
        position=bindparam("position"),
        **_CHANGE_STAMP,
    )
    .returning(*TASK.c)
)


@functools.cache
def _neighbours(in_inbox: bool, at_top: bool, upward: bool, count: int) -> Any:
    """Up to `count` tasks of one container (the same list or the Inbox, the same parent or the
    top) but `:moving`, from the position `:at` on, nearest first. The count is written into
    the statement: as a parameter, PostgreSQL kept no generic plan for it (none costs as little
    as one made for the count) and planned it anew on every move."""
    in_list = TASK.c.list_id.is_(None) if in_inbox else _IN_LIST
    parent = TASK.c.parent_id
    under = parent.is_(None) if at_top else parent == bindparam("parent_id")
    at = bindparam("at", type_=TASK.c.position.type)
    order: tuple[Any, ...]
    if upward:
        beyond, order = TASK.c.position >= at, (TASK.c.position, TASK.c.id)
    else:
        beyond, order = TASK.c.position <= at, (TASK.c.position.desc(), TASK.c.id.desc())
    return (
        select(TASK.c.id, TASK.c.position)
        .where(OWNER, in_list, under, TASK.c.id != bindparam("moving"), beyond)
        .order_by(*order)
        .limit(literal_column(str(count)))
    )


async def delete_in_list(db: Database, user_id: str, list_id: int) -> list[int]:
    """Delete every task of the user's list; the ids deleted, in order."""
    rows = await db.fetch_all(_IN_LIST_HELD, {"owner": user_id, "list_id": list_id})
    return await delete_ids(db, user_id, [row["id"] for row in rows])


async def delete_ids(db: Database, user_id: str, ids: list[int]) -> list[int]:
    """Delete these tasks of the user, held by the transaction `db` (a task with its subtasks,
    say), in one statement; their ids, in order."""
    if ids:
        # Per call, carrying its values: IN lists are rendered with them.
        await db.execute(delete(TASK).where(TASK.c.user_id == user_id, TASK.c.id.in_(ids)))
    return sorted(ids)


async def siblings_from(
    db: Database,
    task: TaskRow,
    container: tuple[int | None, int | None],
    at: str,
    count: int,
    upward: bool,
) -> list[tuple[int, str]]:
    """Up to `count` tasks of the container (list, parent) other than `task`, nearest first,
    from the position `at` on up (`upward`) or down: (id, position)."""
    list_id, parent_id = container
    statement = _neighbours(list_id is None, parent_id is None, upward, count)
    params = {
        "owner": task["user_id"],
        "moving": task["id"],
        "list_id": list_id,
        "parent_id": parent_id,
        "at": at,
    }
    return [(row["id"], row["position"]) for row in await db.fetch_all(statement, params)]


async def place(
    db: Database,
    task: TaskRow,
    container: tuple[int | None, int | None],
    position: str,
    now: datetime,
) -> TaskRow | None:
    """Put the task in the container (list, parent) at `position`; None if it is gone."""
    list_id, parent_id = container
    params = identity(task) | {
        "list_id": list_id,
        "parent_id": parent_id,
        "position": position,
        "now": now,
    }
    return await db.fetch_one(Rows[TaskRow](_SET_PLACE), params)


_SET_POSITION = (
    update(TASK)
    .where(THIS_TASK)
    .values(position=bindparam("position"), **_CHANGE_STAMP)
    .returning(*TASK.c)
)


async def reposition(
    db: Database, user_id: str, task_id: int, position: str, now: datetime
) -> TaskRow | None:
    """Give the task a new position among its siblings (a respacing); None if it is gone."""
    params = {"task_id": task_id, "owner": user_id, "position": position, "now": now}
    return await db.fetch_one(Rows[TaskRow](_SET_POSITION), params)
