"""The `calendar_object` table's SQL: the objects of tasks by id, name or UID, and writes."""

import functools
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, insert, or_, select

from todo_api.calendars.dav.models import CalendarObject, ObjectRow
from todo_api.core.database import Database, Rows, table_of
from todo_api.tasks import TaskRow

OBJECT = table_of(CalendarObject)
_OWNER = OBJECT.c.user_id == bindparam("owner")

_BY_NAME = Rows[ObjectRow](select(OBJECT).where(_OWNER, OBJECT.c.name == bindparam("name")))
_BY_UID = Rows[ObjectRow](select(OBJECT).where(_OWNER, OBJECT.c.uid == bindparam("uid")))
_INSERT = insert(OBJECT).values(
    task_id=bindparam("task_id"),
    user_id=bindparam("owner"),
    task_created=bindparam("task_created", type_=OBJECT.c.task_created.type),
    name=bindparam("name"),
    uid=bindparam("uid"),
    ical=bindparam("ical"),
)
_FORGET = delete(OBJECT).where(
    _OWNER, or_(OBJECT.c.task_id == bindparam("task_id"), OBJECT.c.name == bindparam("name"))
)


async def by_name(db: Database, owner: str, name: str) -> ObjectRow | None:
    """The owner's object of this resource name (its task may be gone)."""
    return await db.fetch_one(_BY_NAME, {"owner": owner, "name": name})


async def by_uid(db: Database, owner: str, uid: str) -> list[ObjectRow]:
    """The owner's objects of this UID (their tasks may be gone)."""
    return await db.fetch_all(_BY_UID, {"owner": owner, "uid": uid})


async def of_tasks(db: Database, task_ids: Collection[int]) -> dict[int, ObjectRow]:
    """The objects of these tasks, by task id (tasks never written over CalDAV have none)."""
    rows = await _many(db, _by_task_ids, sorted(set(task_ids)), 0, {})
    return {row["task_id"]: row for row in rows}


async def save(db: Database, task: TaskRow, name: str, uid: str, ical: str) -> None:
    """Keep what a client sent for the task, under its name (replacing what either had)."""
    params = {
        "owner": task["user_id"],
        "task_id": task["id"],
        "task_created": task["created_at"],
        "name": name,
        "uid": uid,
        "ical": ical,
    }
    async with db.transaction() as tx:
        await tx.execute(_FORGET, params)
        await tx.execute(_INSERT, params)


async def by_names_or_tasks(
    db: Database, owner: str, names: Sequence[str], task_ids: Sequence[int]
) -> list[ObjectRow]:
    """The owner's objects of these names, and those of these tasks, in one read."""
    names, task_ids = sorted(set(names)), sorted(set(task_ids))
    rows: list[ObjectRow] = []
    while names or task_ids:
        count = max(len(names), len(task_ids))
        size = next((n for n in _SIZES if n >= count), _SIZES[-1])
        some_names, names = names[:size], names[size:]
        some_ids, task_ids = task_ids[:size], task_ids[size:]
        params: dict[str, object] = {"owner": owner}
        for i in range(size):
            params[f"v_{i}"] = some_names[i] if i < len(some_names) else ""
            params[f"w_{i}"] = some_ids[i] if i < len(some_ids) else 0
        rows += await db.fetch_all(_by_names_or_ids(size), params)
    return rows


# Reads by many ids or names take one of these statements, the values padded to its size (with
# what no row holds): each is built and compiled once, as one of any other size would be on
# every request.
_SIZES = (1, 8, 64, 512)


@functools.cache
def _by_task_ids(size: int) -> Rows[ObjectRow]:
    values: list[BindParameter[Any]] = [bindparam(f"v_{index}") for index in range(size)]
    return Rows[ObjectRow](select(OBJECT).where(OBJECT.c.task_id.in_(values)))


@functools.cache
def _by_names_or_ids(size: int) -> Rows[ObjectRow]:
    names: list[BindParameter[Any]] = [bindparam(f"v_{index}") for index in range(size)]
    ids: list[BindParameter[Any]] = [bindparam(f"w_{index}") for index in range(size)]
    return Rows[ObjectRow](
        select(OBJECT).where(_OWNER, or_(OBJECT.c.name.in_(names), OBJECT.c.task_id.in_(ids)))
    )


async def _many(
    db: Database,
    statement: Callable[[int], Rows[ObjectRow]],
    values: Sequence[object],
    padding: object,
    params: dict[str, object],
) -> list[ObjectRow]:
    rows: list[ObjectRow] = []
    while values:
        size = next((n for n in _SIZES if n >= len(values)), _SIZES[-1])
        chunk, values = values[:size], values[size:]
        padded = {f"v_{i}": chunk[i] if i < len(chunk) else padding for i in range(size)}
        rows += await db.fetch_all(statement(size), params | padded)
    return rows
