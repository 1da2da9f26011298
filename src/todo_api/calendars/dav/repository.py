"""The `calendar_object` table's SQL: the objects of tasks by id or UID, tasks with their objects
by id or name, and writes."""

import functools
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NotRequired, cast

from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    Text,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.types import TypeEngine

from todo_api import sync
from todo_api.calendars.dav.models import CalendarObject, ObjectRow
from todo_api.core.database import Database, Rows, table_of
from todo_api.core.fields import MAX_ID
from todo_api.tasks import TASK, TaskRow

OBJECT = table_of(CalendarObject)
_OWNER = OBJECT.c.user_id == bindparam("owner")

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
# A task's object, read with each change of the task (sync reports: `sync.read_changes`).
WITH_CHANGES = sync.Alongside(
    OBJECT,
    lambda kind, record_id: (OBJECT.c.task_id == record_id) & (kind == "task"),
    tuple(column.name for column in OBJECT.c),
)


def logged_object(change: sync.LoggedChange) -> ObjectRow | None:
    """The object read with a change (`WITH_CHANGES`), if its task has one."""
    if change.alongside is None or change.alongside["task_id"] is None:
        return None
    return cast(ObjectRow, dict(change.alongside))


async def by_uid(db: Database, owner: str, uid: str) -> list[ObjectRow]:
    """The owner's objects of this UID (their tasks may be gone)."""
    return await db.fetch_all(_BY_UID, {"owner": owner, "uid": uid})


async def of_tasks(db: Database, task_ids: Collection[int]) -> dict[int, ObjectRow]:
    """The objects of these tasks, by task id (tasks never written over CalDAV have none)."""
    if not task_ids:
        return {}
    ids = sorted({task_id for task_id in task_ids if 1 <= task_id <= MAX_ID})
    rows = await db.fetch_all(_of_task_ids(db.dialect_name), {"ids": _list(db, ids)})
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


async def named(
    db: Database, owner: str, names: Sequence[str], task_ids: Sequence[int]
) -> list[tuple[TaskRow, ObjectRow | None]]:
    """The owner's tasks of these ids and those of the objects of these names, each with its
    object (if a client wrote one), in one read."""
    params = {
        "owner": owner,
        "ids": _list(db, [task_id for task_id in task_ids if 1 <= task_id <= MAX_ID]),
        "names": _list(db, list(names)),
    }
    found: list[tuple[TaskRow, ObjectRow | None]] = []
    for row in await db.fetch_all(_named(db.dialect_name), params):
        name, uid = row.pop("object_name"), row.pop("object_uid")
        task_created, ical = row.pop("object_task_created"), row.pop("object_ical")
        stored: ObjectRow | None = None
        if name is not None and uid is not None and task_created is not None and ical is not None:
            stored = {
                "task_id": row["id"],
                "user_id": owner,
                "task_created": task_created,
                "name": name,
                "uid": uid,
                "ical": ical,
            }
        found.append((row, stored))
    return found


# Lists of values are one parameter: an array on PostgreSQL, JSON text on SQLite. The
# statements are compiled once, whatever the lists' lengths.


def _list(db: Database, values: list[Any]) -> object:
    return values if db.dialect_name == "postgresql" else json.dumps(values)


def _elements(dialect: str, name: str, element: TypeEngine[Any]) -> Select[Any]:
    """The values of the list parameter `name`, a row each."""
    if dialect == "postgresql":
        return select(func.unnest(bindparam(name, type_=ARRAY(element))))
    return select(func.json_each(bindparam(name, type_=Text)).table_valued("value").c.value)


@functools.cache
def _of_task_ids(dialect: str) -> Rows[ObjectRow]:
    return Rows[ObjectRow](
        select(OBJECT).where(OBJECT.c.task_id.in_(_elements(dialect, "ids", Integer())))
    )


class _Named(TaskRow):
    """A task with its object's columns (all None when it has none)."""

    object_name: NotRequired[str | None]
    object_uid: NotRequired[str | None]
    object_task_created: NotRequired[datetime | None]
    object_ical: NotRequired[str | None]


@functools.cache
def _named(dialect: str) -> Rows[_Named]:
    by_name = select(OBJECT.c.task_id).where(
        _OWNER, OBJECT.c.name.in_(_elements(dialect, "names", Text()))
    )
    wanted = union_all(_elements(dialect, "ids", Integer()), by_name)
    joined = TASK.outerjoin(OBJECT, (OBJECT.c.task_id == TASK.c.id) & _OWNER)
    return Rows[_Named](
        select(
            TASK,
            OBJECT.c.name.label("object_name"),
            OBJECT.c.uid.label("object_uid"),
            OBJECT.c.task_created.label("object_task_created"),
            OBJECT.c.ical.label("object_ical"),
        )
        .select_from(joined)
        .where(TASK.c.user_id == bindparam("owner"), TASK.c.id.in_(wanted))
    )
