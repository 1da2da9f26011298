"""Tasks: the rules for changing, completing, moving and deleting one user's todo items
(creating one is in `creation.py`).

The SQL lives in `repository.py` (one task), `tree.py` (subtasks) and `queries.py`
(listings). Failures are domain errors (`errors.py`). Every write is a unit of work
(`store.write()`) that runs its statements in one transaction and records the task changes it
makes (`logged.py`) in the owner's change log.
"""

from typing import Any, TypeVar

from todo_api.core.clock import utcnow
from todo_api.core.database import Change, Database, Rows, Store, UnitOfWork
from todo_api.core.errors import ApiError, PreconditionFailed
from todo_api.tasks import actor, as_read, logged, moves, occurrences, repository, tree
from todo_api.tasks.creation import check_task_limit, columns
from todo_api.tasks.errors import (
    RemindersNeedDueTime,
    ReminderTooEarly,
    TaskNotFound,
)
from todo_api.tasks.events import KIND
from todo_api.tasks.models import TaskRow
from todo_api.tasks.reminders import (
    MissingDueTime,
    Reminder,
    ReminderOutOfRange,
    cancelled,
    moved,
    next_fire_at,
    resolve,
)
from todo_api.tasks.schemas import TaskMove

_T = TypeVar("_T")


async def get_task(db: Database, user_id: str, task_id: int) -> TaskRow:
    """The task with this id if it belongs to the user; TaskNotFound for anybody else's."""
    task = await repository.get(db, user_id, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


# --- changing ---------------------------------------------------------------------------------


def _with_anchor(task: TaskRow, changes: dict[str, Any]) -> dict[str, Any]:
    # A new due date or rule restarts the series there (month ends count from it).
    if "due_date" in changes or "recurrence" in changes:
        recurring = changes.get("recurrence", task["recurrence"])
        due = changes.get("due_date", task["due_date"])
        changes["recurrence_anchor"] = due if recurring else None
    return changes


def _in_a_tree(task: TaskRow) -> bool:
    return task["parent_id"] is not None or task["subtask_count"] > 0


def needs_bookkeeping(task: TaskRow, changes: dict[str, Any] | None) -> bool:
    """Whether the write needs the locked row: a (re)completion of a task in a series or a
    tree, or reminders to work out again. `changes` None: a toggle."""
    if changes is None:
        return bool(task["recurrence"] or task["next_occurrence_id"] or task["reminders"]) or (
            _in_a_tree(task)
        )
    recurring = task["recurrence"] or changes.get("recurrence") or task["next_occurrence_id"]
    if "completed" in changes and (recurring or _in_a_tree(task)):
        return True
    return "reminders" in changes or (
        bool(task["reminders"]) and ("due_at" in changes or "completed" in changes)
    )


async def update_task(
    store: Store,
    task: TaskRow,
    changes: dict[str, Any],
    version: int | None = None,
    *,
    max_tasks: int = 0,
    may_leave_list: bool = True,
) -> TaskRow:
    """Write the changed fields (from TaskUpdate/TaskPatch.changes()); bump the version.

    `version`: only if the task still has it (If-Match), else PreconditionFailed.
    A new `list_id` or `parent_id` moves the task (and its subtasks) there, last. Completing a
    task completes its subtasks; completing a recurring task also creates its next occurrence
    (TaskLimitReached, and nothing changed, if the user already holds `max_tasks`); reopening
    it removes that.
    """
    changes = _with_anchor(task, columns(changes))
    list_sent, parent_sent = "list_id" in changes, "parent_id" in changes
    list_id, parent_id = changes.pop("list_id", None), changes.pop("parent_id", None)
    if not (list_sent or parent_sent or needs_bookkeeping(task, changes)):
        # Worked out from the task as read, and written (with its change) only if it is still
        # so: one statement where the log takes it in one.
        now = utcnow()
        after = as_read.updated(task, changes, now)
        statement, params = as_read.update_as_read(task, changes, now)
        change = logged.updated(after)
        if written := await _as_read(store, task, version, statement, params, change):
            return written
    async with store.write() as uow:
        if list_sent or parent_sent:
            target = await moves.container_for(
                uow.db,
                task,
                list_id,
                parent_id,
                list_sent=list_sent,
                parent_sent=parent_sent,
                within_list=not may_leave_list,
            )
            if target != (task["list_id"], task["parent_id"]):
                task = await moves.relocate(
                    uow, task, target, moves.Spot(last=True), version=version
                )
                version = None
                if not changes:
                    return task
        if needs_bookkeeping(task, changes):
            return await _update_locked(uow, task, changes, version, max_tasks)
        changed = await repository.update_fields(uow.db, task, changes, version, utcnow())
        written = await _written(uow.db, changed, task)
        uow.record(logged.updated(written))
    return written


async def toggle_task(
    store: Store, task: TaskRow, version: int | None = None, *, max_tasks: int = 0
) -> TaskRow:
    """Flip the task between pending and completed (see update_task for recurring tasks and
    subtasks)."""
    if needs_bookkeeping(task, None):
        async with store.write() as uow:
            return await _update_locked(uow, task, None, version, max_tasks)
    # Worked out from the task as read, and written (with its change) only if it is still so:
    # one statement where the log takes it in one.
    after = as_read.toggled(task, utcnow())
    statement, params = as_read.toggle_as_read(task, after)
    change = logged.updated(after)
    if written := await _as_read(store, task, version, statement, params, change):
        return written
    # Changed since it was read: flipped as it is now.
    async with store.write() as uow:
        toggled = await repository.toggle(uow.db, task, None, utcnow())
        written = await _written(uow.db, toggled, task)
        uow.record(logged.updated(written))
    return written


async def _update_locked(
    uow: UnitOfWork,
    task: TaskRow,
    changes: dict[str, Any] | None,
    version: int | None,
    max_tasks: int,
) -> TaskRow:
    """In a unit of work, on the locked row (its parent's first): the change plus the
    bookkeeping of the series, the subtasks and the reminders."""
    owner = task["user_id"]
    if task["parent_id"] is not None:
        await tree.lock(uow.db, owner, task["parent_id"])
    current = await moves.lock_at(uow, task, version)
    now = utcnow()
    if changes is None:  # a toggle, decided on the locked row
        changes = {"completed": not current["completed"]}
    changes = dict(changes)
    completed = changes.get("completed", current["completed"])
    completing = completed and not current["completed"]
    reopening = current["completed"] and not completed
    set_reminders = "reminders" in changes
    reminders = _new_reminders(current, changes)
    if completing:
        below = await tree.subtree(uow.db, owner, current["id"], held=True)
        successor = {**current, **changes, "reminders": reminders}
        if successor["recurrence"]:
            # The occurrence is a new task: the cap applies as on create (rolled back with it).
            await check_task_limit(uow.db, owner, max_tasks, 1 + len(below))
            occurrence = await occurrences.create_next(uow, successor, below, now)
            changes["next_occurrence_id"] = None if occurrence is None else occurrence["id"]
        await tree.complete_all(uow, [t for t in below if _open(t)], now)
        changes["completed_subtask_count"] = current["subtask_count"]
    elif reopening and (occurrence_id := current["next_occurrence_id"]) is not None:
        # Undoing a completion removes the occurrence it created, unless that one is done too.
        await occurrences.delete_if_pending(uow, owner, occurrence_id)
        changes["next_occurrence_id"] = None
    if completed:
        reminders = cancelled(reminders)  # a done task reminds nobody
    if reminders != current["reminders"]:
        changes |= {"reminders": reminders, "next_reminder_at": next_fire_at(reminders)}
    if set_reminders:
        changes["reminders_by"] = actor.current() or current["user_id"]
    changed = await repository.update_fields(uow.db, task, changes, None, now)
    assert changed is not None  # the row is locked
    uow.record(logged.updated(changed))
    if completing or reopening:
        await tree.refresh_counts(uow, owner, [current["parent_id"]])
    return changed


async def complete_locked(uow: UnitOfWork, task: TaskRow, max_tasks: int) -> TaskRow:
    """Complete the task as update_task does, in a unit of work that holds it."""
    return await _update_locked(uow, task, {"completed": True}, None, max_tasks)


def _open(task: TaskRow) -> bool:
    """Whether completing an ancestor changes the task: it, or a subtask of it, is pending."""
    return not task["completed"] or task["completed_subtask_count"] != task["subtask_count"]


def _new_reminders(current: TaskRow, changes: dict[str, Any]) -> list[Reminder]:
    """The task's reminders after `changes` (which may set them, or move its due time)."""
    due_at = changes.get("due_at", current["due_at"])
    try:
        if "reminders" in changes:
            return resolve(changes.pop("reminders"), due_at, current["reminders"])
        return moved(current["reminders"], due_at)
    except MissingDueTime:
        raise RemindersNeedDueTime() from None
    except ReminderOutOfRange:
        raise ReminderTooEarly() from None


async def move_task(
    store: Store, task: TaskRow, move: TaskMove, *, may_leave_list: bool = True
) -> TaskRow:
    """Move the task (and its subtasks) where `move` says: fields left out keep it where it
    is (in another list, at its top); no neighbour puts it first."""
    try:
        return await _move(store, task, move, within_list=not may_leave_list, alone=False)
    except moves.Crowded:
        # Too narrow a gap for a move beside others: again, holding the list to respace it.
        return await _move(store, task, move, within_list=not may_leave_list, alone=True)


async def _move(
    store: Store, task: TaskRow, move: TaskMove, *, within_list: bool, alone: bool
) -> TaskRow:
    sent = move.model_fields_set
    spot = moves.Spot(after_id=move.after_id, before_id=move.before_id)
    async with store.write() as uow:
        target = await moves.container_for(
            uow.db,
            task,
            move.list_id,
            move.parent_id,
            list_sent="list_id" in sent,
            parent_sent="parent_id" in sent,
            within_list=within_list,
        )
        return await moves.relocate(uow, task, target, spot, within_list=within_list, alone=alone)


async def delete_task(store: Store, task: TaskRow, version: int | None = None) -> None:
    """Remove the task and its subtasks for good (only if it still has `version`, when
    given), each a logged deletion."""
    owner = task["user_id"]
    if task["parent_id"] is None and task["subtask_count"] == 0:
        # Alone in its tree as read: deleted with its tombstone in one statement (where the log
        # takes it in one) if it is still so; a subtask added since moved its version on.
        statement, params = as_read.delete_as_read(task)
        tombstone = logged.deleted(owner, task["id"], utcnow(), task["list_id"])
        if await _as_read(store, task, version, statement, params, tombstone) is not None:
            return
    async with store.write() as uow:
        if task["parent_id"] is not None:
            await tree.lock(uow.db, owner, task["parent_id"])
        current = await tree.lock(uow.db, owner, task["id"])
        if current is None:
            raise TaskNotFound(task["id"])
        if version is not None and current["version"] != version:
            raise PreconditionFailed(KIND, task["id"])
        below = await tree.subtree(uow.db, owner, task["id"], held=True)
        ids = await repository.delete_ids(uow.db, owner, [task["id"], *(t["id"] for t in below)])
        now = utcnow()
        list_id = current["list_id"]
        uow.record(*(logged.deleted(owner, task_id, now, list_id) for task_id in ids))
        await tree.refresh_counts(uow, owner, [current["parent_id"]])


async def _as_read(
    store: Store,
    task: TaskRow,
    version: int | None,
    statement: Rows[TaskRow],
    params: dict[str, Any],
    change: Change,
) -> TaskRow | None:
    """A write of `task` worked out from it as read, by `statement` (which matches it only at
    the version read), with its `change`: the row written, or None when the task changed since
    it was read (TaskNotFound or PreconditionFailed instead when the caller sent the `version`
    it expects)."""
    written = await store.apply(statement, params, change)
    if written is None and version is not None:
        raise await _unwritten(store.db, task)
    return written


async def _written(db: Database, changed: TaskRow | None, task: TaskRow) -> TaskRow:
    """The changed row, or the reason there is none."""
    if changed is None:
        raise await _unwritten(db, task)
    return changed


async def _unwritten(db: Database, task: TaskRow) -> ApiError:
    """Why a write found no row: deleted meanwhile (404) or changed meanwhile (412)."""
    if await repository.get(db, task["user_id"], task["id"]) is None:
        return TaskNotFound(task["id"])
    return PreconditionFailed(KIND, task["id"])
