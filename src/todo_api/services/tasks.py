"""Tasks: listing, creating, changing and deleting one user's todo items.

The statements the API runs on every request are built once, here, with named parameters, so
the database layer compiles each of them a single time.
"""

from collections.abc import Awaitable
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update

from todo_api.auth import Principal
from todo_api.db import Database, IntegrityViolation, Row
from todo_api.models import Task, utcnow
from todo_api.schemas import StatusFilter, TaskCreate, TaskUpdate
from todo_api.services.users import KnownUsers, ensure_user


class TaskNotFound(LookupError):
    """No task with that id belongs to the caller (it may belong to somebody else)."""


class TaskLimitReached(Exception):
    """The user already holds as many tasks as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


# Task ids are a 32-bit column: larger ids cannot exist, and PostgreSQL rejects them outright.
MAX_TASK_ID = 2**31 - 1

TASK: Table = Task.__table__  # type: ignore[assignment]
_OWNER = TASK.c.user_id == bindparam("owner")
_THIS_TASK = (TASK.c.id == bindparam("task_id")) & _OWNER

_LIST = {
    StatusFilter.all: select(TASK).where(_OWNER).order_by(TASK.c.id),
    StatusFilter.pending: select(TASK)
    .where(_OWNER, TASK.c.completed.is_(False))
    .order_by(TASK.c.id),
    StatusFilter.completed: select(TASK)
    .where(_OWNER, TASK.c.completed.is_(True))
    .order_by(TASK.c.id),
}
_GET = select(TASK).where(_THIS_TASK)
_CREATE = (
    insert(TASK)
    .values(
        user_id=bindparam("user_id"),
        title=bindparam("title"),
        description=bindparam("description"),
        completed=bindparam("completed"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(*TASK.c)
)
# A field sent as null keeps its value: COALESCE does that in one statement for every case.
_UPDATE = (
    update(TASK)
    .where(_THIS_TASK)
    .values(
        title=func.coalesce(bindparam("new_title", type_=TASK.c.title.type), TASK.c.title),
        description=func.coalesce(
            bindparam("new_description", type_=TASK.c.description.type), TASK.c.description
        ),
        completed=func.coalesce(
            bindparam("new_completed", type_=TASK.c.completed.type), TASK.c.completed
        ),
        updated_at=bindparam("now"),
    )
    .returning(*TASK.c)
)
# Flipped in SQL, not in Python, so two toggles at once cancel out instead of colliding.
_TOGGLE = (
    update(TASK)
    .where(_THIS_TASK)
    .values(completed=~TASK.c.completed, updated_at=bindparam("now"))
    .returning(*TASK.c)
)
_DELETE = delete(TASK).where(_THIS_TASK)
# Is there a `limit`-th task? Walks at most `limit` entries of the (user_id, id) index, and
# nothing beyond the user's own entries for everybody below it: no COUNT(*) per create.
_NTH_TASK = select(TASK.c.id).where(_OWNER).offset(bindparam("skip")).limit(1)


async def list_tasks(
    db: Database, user_id: str, status: StatusFilter = StatusFilter.all
) -> list[Row]:
    """The user's tasks in creation order, optionally only pending or completed ones."""
    return await db.fetch_all(_LIST[status], {"owner": user_id})


async def get_task(db: Database, user_id: str, task_id: int) -> Row:
    """The task with this id if it belongs to the user; TaskNotFound for anybody else's."""
    task = None
    if 1 <= task_id <= MAX_TASK_ID:
        task = await db.fetch_one(_GET, {"task_id": task_id, "owner": user_id})
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def create_task(
    db: Database,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    *,
    max_tasks: int = 0,
) -> Row:
    """Store a new task for the user; TaskLimitReached if they hold `max_tasks` (0: no limit).

    Creates racing each other near the limit may overshoot it by the number of concurrent
    requests of that one user; their rate limit bounds that.
    """
    if max_tasks and await db.fetch_one(_NTH_TASK, {"owner": owner.user_id, "skip": max_tasks - 1}):
        raise TaskLimitReached(max_tasks)
    params = data.model_dump() | {"user_id": owner.user_id, "now": utcnow()}
    try:
        return await _insert(db, params)
    except IntegrityViolation:
        # The user row vanished after we cached it (deleted by Better Auth, say): recreate it.
        known_users.forget(owner.user_id)
        await ensure_user(db, owner, known_users)
        return await _insert(db, params)


async def _insert(db: Database, params: dict[str, Any]) -> Row:
    row = await db.fetch_one(_CREATE, params)
    assert row is not None  # INSERT … RETURNING always returns the row
    return row


async def update_task(db: Database, task: Row, data: TaskUpdate) -> Row:
    """Apply the fields the client sent (null means unchanged, as the guidelines define PUT)."""
    changes = {f"new_{name}": value for name, value in data.model_dump().items()}
    return await _changed(
        db.fetch_one(_UPDATE, changes | _identity(task) | {"now": utcnow()}), task
    )


async def toggle_task(db: Database, task: Row) -> Row:
    """Flip the task between pending and completed."""
    return await _changed(db.fetch_one(_TOGGLE, _identity(task) | {"now": utcnow()}), task)


async def delete_task(db: Database, task: Row) -> None:
    """Remove the task for good."""
    if not await db.execute(_DELETE, _identity(task)):
        raise TaskNotFound(task["id"])


def _identity(task: Row) -> dict[str, Any]:
    return {"task_id": task["id"], "owner": task["user_id"]}


async def _changed(pending: Awaitable[Row | None], task: Row) -> Row:
    # None: the task was deleted between loading it and changing it.
    changed = await pending
    if changed is None:
        raise TaskNotFound(task["id"])
    return changed
