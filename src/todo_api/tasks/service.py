"""Tasks: the rules for creating, changing, completing and deleting one user's todo items.

The SQL lives in `repository.py` (one task) and `queries.py` (listings); idempotency keys in
`idempotency.py`. Failures are domain errors (`errors.py`).

Every write goes through the store: a unit of work (`store.write()`) that runs its statements
in one transaction and records the task changes it makes (`logged.py`) in the owner's change
log, or `repository.create` on the store for a create that is a write of its own.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from todo_api.accounts import KnownUsers, Principal, ensure_user
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, IntegrityViolation, Store, UnitOfWork
from todo_api.core.errors import ApiError, PreconditionFailed
from todo_api.tasks import idempotency, logged, repository
from todo_api.tasks.errors import (
    IdempotentTaskDeleted,
    RemindersNeedDueTime,
    ReminderTooEarly,
    TaskLimitReached,
    TaskNotFound,
)
from todo_api.tasks.events import KIND
from todo_api.tasks.idempotency import IdempotentRequest, StoredKey, StoredResponse
from todo_api.tasks.models import TaskRow
from todo_api.tasks.recurrence import next_due
from todo_api.tasks.reminders import (
    MissingDueTime,
    Reminder,
    ReminderOutOfRange,
    cancelled,
    carried_over,
    moved,
    next_fire_at,
    resolve,
)
from todo_api.tasks.schemas import BulkComplete, Priority, Recurrence, TaskCreate
from todo_api.tasks.views import task_view

_T = TypeVar("_T")


async def get_task(db: Database, user_id: str, task_id: int) -> TaskRow:
    """The task with this id if it belongs to the user; TaskNotFound for anybody else's."""
    task = await repository.get(db, user_id, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


# --- creating ---------------------------------------------------------------------------------


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """Request fields as the table stores them."""
    columns = dict(data)
    if isinstance(priority := columns.get("priority"), Priority):
        columns["priority"] = priority.rank
    if isinstance(recurrence := columns.get("recurrence"), Recurrence):
        columns["recurrence"] = recurrence.value
    return columns


def _new_task(owner: str, data: TaskCreate, now: datetime) -> dict[str, Any]:
    specs = [reminder.spec() for reminder in data.reminders]
    try:
        reminders = [] if data.completed else resolve(specs, data.due_at, [])
    except ReminderOutOfRange:
        raise ReminderTooEarly() from None
    return _columns(data.model_dump(exclude={"reminders"})) | {
        "user_id": owner,
        "completed_at": now if data.completed else None,
        "recurrence_anchor": data.due_date if data.recurrence else None,
        "reminders": reminders,
        "next_reminder_at": next_fire_at(reminders),
    }


async def _check_task_limit(db: Database, user_id: str, max_tasks: int) -> None:
    # Creates racing each other near the limit may overshoot it by the number of concurrent
    # requests of that one user; their rate limit bounds that.
    if max_tasks and await repository.holds_at_least(db, user_id, max_tasks):
        raise TaskLimitReached(max_tasks)


async def _recreating_user(
    db: Database, owner: Principal, known_users: KnownUsers, write: Callable[[], Awaitable[_T]]
) -> _T:
    """`write()`, run again once if the user's row vanished after we cached it (deleted by
    Better Auth, say): a task cannot be stored without its user row."""
    try:
        return await write()
    except IntegrityViolation:
        known_users.forget(owner.user_id)
        await ensure_user(db, owner, known_users)
        return await write()


async def _insert(writer: Store | UnitOfWork, values: dict[str, Any], now: datetime) -> TaskRow:
    return await repository.create(writer, values, now, logged.created(values, now))


async def create_task(
    store: Store,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    *,
    max_tasks: int = 0,
) -> TaskRow:
    """Store a new task for the user; TaskLimitReached if they hold `max_tasks` (0: no limit)."""
    await _check_task_limit(store.db, owner.user_id, max_tasks)
    now = utcnow()
    values = _new_task(owner.user_id, data, now)
    return await _recreating_user(store.db, owner, known_users, lambda: _insert(store, values, now))


async def create_task_once(
    store: Store,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    key: str,
    *,
    max_tasks: int = 0,
    keys_per_user: int = 1000,
) -> StoredResponse:
    """Create a task unless this `Idempotency-Key` already did (then answer with that task).

    The key is stored with the task in one transaction, so a retry racing the first request
    either finds the key or fails on it and replays.
    """
    db = store.db
    now = utcnow()
    request = IdempotentRequest.of(owner.user_id, key, data, now)
    if (stored := await idempotency.find(db, request)) is not None:
        return await _replay(db, owner.user_id, stored)
    await _check_task_limit(db, owner.user_id, max_tasks)
    await ensure_user(db, owner, known_users)
    values = _new_task(owner.user_id, data, now)

    async def create() -> StoredResponse:
        try:
            async with store.write() as uow:
                task = await _insert(uow, values, now)
                await idempotency.store(db, uow.db, request, 201, task["id"], keys_per_user)
            return StoredResponse(201, task_view(task), replayed=False)
        except IntegrityViolation:
            if (stored := await idempotency.find(db, request)) is not None:
                return await _replay(db, owner.user_id, stored)
            raise

    return await _recreating_user(db, owner, known_users, create)


async def _replay(db: Database, user_id: str, stored: StoredKey) -> StoredResponse:
    """The answer to a retry: the task the key created, as it is now."""
    task = await repository.get(db, user_id, stored.task_id)
    if task is None:
        raise IdempotentTaskDeleted()
    return StoredResponse(stored.status_code, task_view(task), replayed=True)


# --- changing ---------------------------------------------------------------------------------


def _with_anchor(task: TaskRow, changes: dict[str, Any]) -> dict[str, Any]:
    # A new due date or rule restarts the series there (month ends count from it).
    if "due_date" in changes or "recurrence" in changes:
        recurring = changes.get("recurrence", task["recurrence"])
        due = changes.get("due_date", task["due_date"])
        changes["recurrence_anchor"] = due if recurring else None
    return changes


async def update_task(
    store: Store,
    task: TaskRow,
    changes: dict[str, Any],
    version: int | None = None,
    *,
    max_tasks: int = 0,
) -> TaskRow:
    """Write the changed fields (from TaskUpdate/TaskPatch.changes()); bump the version.

    `version`: only if the task still has it (If-Match), else PreconditionFailed.
    Completing a recurring task also creates its next occurrence (TaskLimitReached, and nothing
    changed, if the user already holds `max_tasks`); reopening it removes that.
    """
    changes = _with_anchor(task, _columns(changes))
    recurring = task["recurrence"] or changes.get("recurrence") or task["next_occurrence_id"]
    # Reminders are worked out from the row as it is, locked: never from an older read.
    reminding = "reminders" in changes or (
        bool(task["reminders"]) and ("due_at" in changes or "completed" in changes)
    )
    async with store.write() as uow:
        if ("completed" in changes and recurring) or reminding:
            return await _update_locked(uow, task, changes, version, max_tasks)
        changed = await repository.update_fields(uow.db, task, changes, version, utcnow())
        written = await _written(uow.db, changed, task)
        uow.record(logged.updated(written))
    return written


async def toggle_task(
    store: Store, task: TaskRow, version: int | None = None, *, max_tasks: int = 0
) -> TaskRow:
    """Flip the task between pending and completed (see update_task for recurring tasks)."""
    async with store.write() as uow:
        if task["recurrence"] or task["next_occurrence_id"] or task["reminders"]:
            return await _update_locked(uow, task, None, version, max_tasks)
        toggled = await repository.toggle(uow.db, task, version, utcnow())
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
    """In a unit of work, on the locked row: the change plus the bookkeeping of the series and
    of the reminders."""
    current = await repository.lock(uow.db, task)
    if current is None:
        raise TaskNotFound(task["id"])
    if version is not None and current["version"] != version:
        raise PreconditionFailed(KIND, task["id"])
    now = utcnow()
    if changes is None:  # a toggle, decided on the locked row
        changes = {"completed": not current["completed"]}
    changes = dict(changes)
    completed = changes.get("completed", current["completed"])
    completing = completed and not current["completed"]
    reopening = current["completed"] and not completed
    reminders = _new_reminders(current, changes)
    if completing:
        successor = {**current, **changes, "reminders": reminders}
        if successor["recurrence"]:
            # The occurrence is a new task: the cap applies as on create (rolled back with it).
            await _check_task_limit(uow.db, current["user_id"], max_tasks)
            occurrence = await _create_next_occurrence(uow, successor, now)
            changes["next_occurrence_id"] = None if occurrence is None else occurrence["id"]
    elif reopening and (occurrence_id := current["next_occurrence_id"]) is not None:
        # Undoing a completion removes the occurrence it created, unless that one is done too.
        if await repository.delete_if_pending(uow.db, current["user_id"], occurrence_id):
            uow.record(logged.deleted(current["user_id"], occurrence_id, now))
        changes["next_occurrence_id"] = None
    if completed:
        reminders = cancelled(reminders)  # a done task reminds nobody
    if reminders != current["reminders"]:
        changes |= {"reminders": reminders, "next_reminder_at": next_fire_at(reminders)}
    changed = await repository.update_fields(uow.db, task, changes, None, now)
    assert changed is not None  # the row is locked
    uow.record(logged.updated(changed))
    return changed


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


async def _create_next_occurrence(
    uow: UnitOfWork, task: dict[str, Any], now: datetime
) -> TaskRow | None:
    """Insert the series' next occurrence after `task` (its values as they will be stored)."""
    current_due = task["due_date"] or now.date()
    anchor = task["recurrence_anchor"] or current_due
    due = next_due(current_due, Recurrence(task["recurrence"]), task["recurrence_interval"], anchor)
    if due is None:  # past the end of the calendar: the series ends here
        return None
    due_at = task["due_at"]
    if due_at is not None:
        due_at = datetime.combine(due, due_at.astimezone(UTC).time(), UTC)
    reminders = carried_over(task["reminders"], (task["due_at"], task["due_date"]), (due_at, due))
    values = {name: task[name] for name in repository.CREATED_FIELDS} | {
        "completed": False,
        "completed_at": None,
        "due_date": due,
        "due_at": due_at,
        "recurrence_anchor": anchor,
        "reminders": reminders,
        "next_reminder_at": next_fire_at(reminders),
    }
    return await _insert(uow, values, now)


async def delete_task(store: Store, task: TaskRow, version: int | None = None) -> None:
    """Remove the task for good (only if it still has `version`, when given)."""
    async with store.write() as uow:
        if not await repository.delete_one(uow.db, task, version):
            raise await _unwritten(uow.db, task)
        uow.record(logged.deleted(task["user_id"], task["id"]))


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


# --- bulk -------------------------------------------------------------------------------------


async def complete_tasks(
    store: Store, user_id: str, selection: BulkComplete, *, max_tasks: int = 0
) -> list[int]:
    """Complete the selected pending tasks (or the oldest MAX_BULK_TASKS pending ones) in one
    transaction; the ids completed. Recurring ones get their next occurrence, as when completed
    one by one: TaskLimitReached, and nothing completed, if those would pass `max_tasks`."""
    async with store.write() as uow:
        tasks = await repository.lock_pending(uow.db, user_id, selection.ids)
        plain = []
        for task in tasks:
            if task["recurrence"] or task["next_occurrence_id"] or task["reminders"]:
                await _update_locked(uow, task, {"completed": True}, None, max_tasks)
            else:
                plain.append(task["id"])
        if plain:
            completed = await repository.complete_all(uow.db, user_id, plain, utcnow())
            uow.record(*(logged.updated(row) for row in completed))
    return [task["id"] for task in tasks]


async def delete_completed(store: Store, user_id: str) -> list[int]:
    """Delete every completed task of the user, in one statement; the ids deleted."""
    async with store.write() as uow:
        ids = await repository.delete_completed(uow.db, user_id)
        now = utcnow()
        uow.record(*(logged.deleted(user_id, task_id, now) for task_id in ids))
    return ids
