"""The `task_list` table's SQL: a user's lists with their task counts, one list, locks,
inserts, updates, deletes, and the lists next to a spot in their order."""

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update

from todo_api.core.database import Database, NewRecord, Rows, Store, UnitOfWork, table_of
from todo_api.core.fields import MAX_ID
from todo_api.core.positions import Sibling
from todo_api.tasks.lists.models import ListRow, TaskList
from todo_api.tasks.repository import TASK

LIST = table_of(TaskList)
_OWNER = LIST.c.user_id == bindparam("owner")
_THIS_LIST = (LIST.c.id == bindparam("list_id")) & _OWNER
_NOW = bindparam("now", type_=LIST.c.updated_at.type)
TASK_COUNT = (
    select(func.count())
    .where(TASK.c.user_id == LIST.c.user_id, TASK.c.list_id == LIST.c.id)
    .scalar_subquery()
    .label("task_count")
)
_ORDER = (LIST.c.position, LIST.c.id)

_ALL = Rows[ListRow](select(LIST, TASK_COUNT).where(_OWNER).order_by(*_ORDER))
_GET = Rows[ListRow](select(LIST, TASK_COUNT).where(_THIS_LIST))
_COUNT = select(func.count()).where(_OWNER)
_FIND_BY_NAME = Rows[ListRow](
    select(LIST, TASK_COUNT)
    .where(_OWNER, func.lower(LIST.c.name) == func.lower(bindparam("name")))
    .order_by(*_ORDER)
    .limit(1)
)
# An update that changes nothing: it holds the row (SQLite, too) until the transaction ends.
_LOCK = Rows[ListRow](
    update(LIST).where(_THIS_LIST).values(version=LIST.c.version).returning(*LIST.c)
)
# FOR SHARE, not FOR KEY SHARE: it must wait for `_LOCK` (FOR NO KEY UPDATE) and make it wait.
_SHARE = select(LIST.c.member_count).where(_THIS_LIST).with_for_update(read=True)
_CREATE = Rows[ListRow](
    insert(LIST)
    .values(
        user_id=bindparam("owner"),
        name=bindparam("name"),
        color=bindparam("color"),
        position=bindparam("position"),
        created_at=_NOW,
        updated_at=_NOW,
        version=1,
        member_count=0,
    )
    .returning(*LIST.c)
)
_DELETE = delete(LIST).where(_THIS_LIST)
_DELETE_IF_MATCH = delete(LIST).where(_THIS_LIST, LIST.c.version == bindparam("expected_version"))
_BEFORE = (
    select(LIST.c.id, LIST.c.position)
    .where(_OWNER, LIST.c.id != bindparam("moving"), LIST.c.position <= bindparam("at"))
    .order_by(LIST.c.position.desc(), LIST.c.id.desc())
    .limit(bindparam("count"))
)
_AFTER = (
    select(LIST.c.id, LIST.c.position)
    .where(_OWNER, LIST.c.id != bindparam("moving"), LIST.c.position >= bindparam("at"))
    .order_by(*_ORDER)
    .limit(bindparam("count"))
)
_SET_POSITION = (
    update(LIST)
    .where(_THIS_LIST)
    .values(position=bindparam("position"), updated_at=_NOW, version=LIST.c.version + 1)
)


def _identity(row: ListRow) -> dict[str, Any]:
    return {"list_id": row["id"], "owner": row["user_id"]}


async def all_of(db: Database, user_id: str) -> list[ListRow]:
    """The user's lists in their order, each with its task count."""
    return await db.fetch_all(_ALL, {"owner": user_id})


async def get(db: Database, user_id: str, list_id: int) -> ListRow | None:
    """The user's list with this id, with its task count; None for anybody else's."""
    if not 1 <= list_id <= MAX_ID:
        return None
    return await db.fetch_one(_GET, {"list_id": list_id, "owner": user_id})


async def named(db: Database, user_id: str, name: str) -> ListRow | None:
    """The user's first list (in their order) with this name, ignoring case."""
    return await db.fetch_one(_FIND_BY_NAME, {"owner": user_id, "name": name})


async def count(db: Database, user_id: str) -> int:
    """How many lists the user has."""
    return int(await db.scalar(_COUNT, {"owner": user_id}))


async def lock(tx: Database, user_id: str, list_id: int) -> ListRow | None:
    """The user's list, held until `tx` ends; None if there is none."""
    if not 1 <= list_id <= MAX_ID:
        return None
    return await tx.fetch_one(_LOCK, {"list_id": list_id, "owner": user_id})


async def share(tx: Database, user_id: str, list_id: int) -> int | None:
    """Hold the user's list until `tx` ends against `lock` (and updates and deletes of it), but
    not against others who share it; its member count, or None if there is no such list.

    SQLite has no shared row locks: there it is `lock`, which takes the database's one write
    lock first, so that what the transaction reads next is still so when it writes.
    """
    if tx.dialect_name != "postgresql":
        held = await lock(tx, user_id, list_id)
        return None if held is None else held["member_count"]
    if not 1 <= list_id <= MAX_ID:
        return None
    members: int | None = await tx.scalar(_SHARE, {"list_id": list_id, "owner": user_id})
    return members


async def create(
    writer: Store | UnitOfWork, values: dict[str, Any], now: datetime, logged: NewRecord
) -> ListRow:
    """Store a new list (`owner`, `name`, `color`, `position`), its creation logged."""
    return await writer.create(_CREATE, values | {"now": now}, logged)


@functools.cache
def _update_statement(fields: frozenset[str], if_match: bool) -> Rows[ListRow]:
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=LIST.c[name].type) for name in fields
    }
    where = (
        [_THIS_LIST, LIST.c.version == bindparam("expected_version")] if if_match else [_THIS_LIST]
    )
    stamp = {"updated_at": _NOW, "version": LIST.c.version + 1}
    return Rows(update(LIST).where(*where).values(values | stamp).returning(*LIST.c))


async def update_fields(
    db: Database, row: ListRow, changes: dict[str, Any], version: int | None, now: datetime
) -> ListRow | None:
    """Write `changes` and bump the version; None if the list is gone, or (with `version`)
    changed meanwhile."""
    params = {f"new_{name}": value for name, value in changes.items()}
    params |= _identity(row) | {"now": now, "expected_version": version}
    statement = _update_statement(frozenset(changes), version is not None)
    return await db.fetch_one(statement, params)


async def set_position(
    db: Database, owner: str, list_id: int, position: str, now: datetime
) -> None:
    """Give the list a new position (a move, or a respacing)."""
    params = {"list_id": list_id, "owner": owner, "position": position, "now": now}
    await db.execute(_SET_POSITION, params)


async def delete_one(db: Database, row: ListRow, version: int | None) -> bool:
    """Delete the list (only with `version`, when given); whether a row was deleted."""
    if version is None:
        return bool(await db.execute(_DELETE, _identity(row)))
    return bool(await db.execute(_DELETE_IF_MATCH, _identity(row) | {"expected_version": version}))


async def neighbours(
    db: Database, owner: str, moving: int, at: str, count: int, upward: bool
) -> Sequence[Sibling]:
    """Up to `count` of the owner's lists but `moving`, nearest first, from `at` on up or down."""
    statement = _AFTER if upward else _BEFORE
    params = {"owner": owner, "moving": moving, "at": at, "count": count}
    return [Sibling(row["id"], row["position"]) for row in await db.fetch_all(statement, params)]
