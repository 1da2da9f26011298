"""Subtasks: the tree `parent_id` makes of a list's tasks, at most MAX_DEPTH levels deep.

A task's subtasks are in its list; deleting a task deletes them, completing it completes them,
and moving it moves them. Each task counts its direct subtasks, and the completed ones; a write
that changes which tasks are under a parent, or whether they are done, holds the parent's row
first (`lock`), and then `refresh_counts` it, so that two such writes at once count both.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, func, literal, or_, select, update

from todo_api.core.clock import utcnow
from todo_api.core.database import Database, Rows, UnitOfWork
from todo_api.tasks import actor, logged, repository
from todo_api.tasks.models import TaskRow
from todo_api.tasks.reminders import cancelled
from todo_api.tasks.repository import OWNER, TASK

# A top-level task is at depth 1; a subtask of a subtask of a subtask, at 4.
MAX_DEPTH = 4

_CHILD = TASK.alias("child")


def _subtree(*, held: bool) -> Rows[TaskRow]:
    """The descendants of `:root` (not the root), parents before their subtasks; `held`: each
    row held until the transaction ends, so that none is added under them meanwhile."""
    tree = (
        select(TASK.c.id, literal(1).label("depth"))
        .where(TASK.c.parent_id == bindparam("root"), OWNER)
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(_CHILD.c.id, tree.c.depth + 1)
        .select_from(_CHILD)
        .join(tree, _CHILD.c.parent_id == tree.c.id)
        .where(tree.c.depth < MAX_DEPTH)
    )
    statement = (
        select(TASK)
        .join(tree, TASK.c.id == tree.c.id)
        .order_by(tree.c.depth, TASK.c.parent_id, TASK.c.position, TASK.c.id)
    )
    return Rows(statement.with_for_update(of=TASK) if held else statement)


def _ancestors() -> Rows[dict[str, Any]]:
    """The ids above `:start` (its parent first), `:start` itself not among them."""
    chain = (
        select(TASK.c.parent_id.label("id"), literal(1).label("up"))
        .where(TASK.c.id == bindparam("start"), OWNER, TASK.c.parent_id.is_not(None))
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(_CHILD.c.parent_id, chain.c.up + 1)
        .select_from(_CHILD)
        .join(chain, _CHILD.c.id == chain.c.id)
        .where(_CHILD.c.parent_id.is_not(None), chain.c.up < MAX_DEPTH)
    )
    return Rows(select(chain.c.id).order_by(chain.c.up))


_SUBTREE = _subtree(held=False)
_SUBTREE_HELD = _subtree(held=True)
_ANCESTORS = _ancestors()
_CHILDREN = select(func.count()).where(_CHILD.c.parent_id == TASK.c.id).scalar_subquery()
_DONE_CHILDREN = (
    select(func.count())
    .where(_CHILD.c.parent_id == TASK.c.id, _CHILD.c.completed.is_(True))
    .scalar_subquery()
)


def _update_these(owner: str, ids: Iterable[int], now: datetime, *where: Any) -> Any:
    """UPDATE of the owner's tasks `ids` (values carried by the statement, built per call),
    stamped `now` and one version on, RETURNING them."""
    stamp = {"updated_at": literal(now, TASK.c.updated_at.type), "version": TASK.c.version + 1}
    return (
        update(TASK)
        .where(TASK.c.user_id == owner, TASK.c.id.in_(sorted(ids)), *where)
        .returning(*TASK.c)
        .values(stamp)
    )


_LOCK = Rows[TaskRow](
    update(TASK)
    .where(TASK.c.id == bindparam("task_id"), OWNER)
    .values(version=TASK.c.version)
    .returning(*TASK.c)
)


async def subtree(db: Database, owner: str, root_id: int, *, held: bool = False) -> list[TaskRow]:
    """Every task under the owner's task `root_id`, parents before their subtasks (`held`:
    their rows held until the transaction `db` ends; on SQLite, a write transaction holds
    them all)."""
    statement = _SUBTREE_HELD if held else _SUBTREE
    return await db.fetch_all(statement, {"root": root_id, "owner": owner})


async def depth(db: Database, owner: str, task_id: int) -> int:
    """How deep the task is: 1 at the top of its list."""
    return 1 + len(await db.fetch_all(_ANCESTORS, {"start": task_id, "owner": owner}))


async def ancestor_ids(db: Database, owner: str, task_id: int) -> list[int]:
    """The tasks above this one, its parent first."""
    rows = await db.fetch_all(_ANCESTORS, {"start": task_id, "owner": owner})
    return [row["id"] for row in rows]


def height(task: TaskRow, below: Iterable[TaskRow]) -> int:
    """How many levels the task and its subtree (`below`, as `subtree` returns it) span."""
    levels = {task["id"]: 1}
    for row in below:  # parents come first
        levels[row["id"]] = levels.get(row["parent_id"] or 0, 1) + 1
    return max(levels.values())


async def lock(tx: Database, owner: str, task_id: int) -> TaskRow | None:
    """The owner's task, its row held until `tx` ends (a lock SQLite takes too); None if
    there is none."""
    return await tx.fetch_one(_LOCK, {"task_id": task_id, "owner": owner})


async def refresh_counts(uow: UnitOfWork, owner: str, parent_ids: Iterable[int | None]) -> None:
    """Count the subtasks of these tasks again (each held by `lock` before the write that
    changed them); each whose counts changed is a logged update."""
    ids = {task_id for task_id in parent_ids if task_id is not None}
    if ids:
        changed = or_(
            TASK.c.subtask_count != _CHILDREN, TASK.c.completed_subtask_count != _DONE_CHILDREN
        )
        statement = _update_these(owner, ids, utcnow(), changed).values(
            subtask_count=_CHILDREN, completed_subtask_count=_DONE_CHILDREN
        )
        for row in await uow.db.fetch_all(Rows[TaskRow](statement)):
            uow.record(logged.updated(row))


async def complete_all(uow: UnitOfWork, tasks: list[TaskRow], now: datetime) -> None:
    """Complete `tasks` (a subtree being completed with its root), each a logged update; the
    reminders that have not gone off are cancelled, as for any completed task."""
    reminding = [task for task in tasks if task["next_reminder_at"] is not None]
    for task in reminding:
        changes = {
            "completed": True,
            "completed_subtask_count": task["subtask_count"],
            "reminders": cancelled(task["reminders"]),
            "next_reminder_at": None,
        }
        row = await repository.update_fields(uow.db, task, changes, None, now)
        if row is not None:
            uow.record(logged.updated(row))
    rest = [task["id"] for task in tasks if task["next_reminder_at"] is None]
    if rest:
        statement = _update_these(tasks[0]["user_id"], rest, now).values(
            completed=True,
            completed_at=func.coalesce(TASK.c.completed_at, literal(now, TASK.c.completed_at.type)),
            completed_by=func.coalesce(
                TASK.c.completed_by, literal(actor.current() or tasks[0]["user_id"], Text)
            ),
            completed_subtask_count=TASK.c.subtask_count,
        )
        for row in await uow.db.fetch_all(Rows[TaskRow](statement)):
            uow.record(logged.updated(row))


async def move_to_list(uow: UnitOfWork, tasks: list[TaskRow], list_id: int | None) -> None:
    """Put `tasks` (a subtree following its root) in the list `list_id`, each a logged update."""
    if tasks:
        ids = [task["id"] for task in tasks]
        statement = _update_these(tasks[0]["user_id"], ids, utcnow()).values(list_id=list_id)
        for row in await uow.db.fetch_all(Rows[TaskRow](statement)):
            uow.record(logged.updated(row))
