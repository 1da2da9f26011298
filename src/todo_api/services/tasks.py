"""Tasks: the rules for listing, creating, changing and deleting one user's todo items.

The SQL lives in `task_repository`; idempotency keys in `idempotency`. Failures are the domain
errors of `todo_api.errors` (TaskNotFound, PreconditionFailed, TaskLimitReached, …).

Every write goes through one of the functions below, and each runs its statements on the one
`Database` it was given, or on the transaction `tx` it opens for them: create_task,
create_task_once, update_task, toggle_task, delete_task, complete_tasks, delete_completed.
Each also appends its changes to the owner's change log (`services.changes`), last, in the
same transaction.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from todo_api.auth import Principal
from todo_api.db import Database, IntegrityViolation
from todo_api.errors import (
    ApiError,
    IdempotentTaskDeleted,
    PreconditionFailed,
    RemindersNeedDueTime,
    TaskLimitReached,
    TaskNotFound,
)
from todo_api.models import TaskRow, utcnow
from todo_api.schemas.listing import Cursor, TaskListQuery
from todo_api.schemas.tasks import (
    BulkComplete,
    Priority,
    Recurrence,
    TagCount,
    TaskCreate,
    TaskStats,
    task_view,
)
from todo_api.services import changes as change_log
from todo_api.services import idempotency, task_repository
from todo_api.services.idempotency import IdempotentRequest, StoredKey, StoredResponse
from todo_api.services.recurrence import next_due
from todo_api.services.reminders import (
    MissingDueTime,
    Reminder,
    cancelled,
    carried_over,
    moved,
    next_fire_at,
    resolve,
)
from todo_api.services.users import KnownUsers, ensure_user

_T = TypeVar("_T")

# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, and how to get the next."""

    tasks: list[TaskRow]
    next_cursor: str | None = None
    next_offset: int | None = None
    total: int | None = None


async def list_tasks(db: Database, user_id: str, query: TaskListQuery) -> Page:
    """A page of the user's tasks, filtered and sorted as the query asks."""
    position = query.position()
    rows = await task_repository.page(db, user_id, query, position)
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = next_offset = total = None
    if has_more and query.offset is not None:
        next_offset = query.offset + query.limit
    elif has_more:
        key = cast(dict[str, object], rows[-1]).get("sort_key")
        if isinstance(key, date):  # datetimes too
            key = key.isoformat()
        assert key is None or isinstance(key, int | str)
        next_cursor = Cursor(sort=query.sort_name, key=key, id=rows[-1]["id"]).encode()
    if query.count:
        # COUNT(*) grows with the user's tasks: only when asked for.
        total = await task_repository.count(db, user_id, query)
    elif not has_more and position is None and not query.offset:
        # The whole result is on this first page: its count costs nothing.
        total = len(rows)
    return Page(rows, next_cursor, next_offset, total)


async def get_task(db: Database, user_id: str, task_id: int) -> TaskRow:
    """The task with this id if it belongs to the user; TaskNotFound for anybody else's."""
    task = await task_repository.get(db, user_id, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def task_stats(db: Database, user_id: str) -> TaskStats:
    """Counts of the user's tasks: total, pending, completed, overdue, due today (UTC)."""
    return TaskStats(**await task_repository.counts(db, user_id, utcnow()))


async def tag_counts(db: Database, user_id: str) -> list[TagCount]:
    """The user's tags (spelt as on the task that sorts first, ignoring case) with task counts,
    most used first."""
    return [TagCount(**use) for use in await task_repository.tag_uses(db, user_id)]


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
    reminders = [] if data.completed else resolve(specs, data.due_at, [])
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
    if max_tasks and await task_repository.holds_at_least(db, user_id, max_tasks):
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


async def create_task(
    db: Database,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    *,
    max_tasks: int = 0,
) -> TaskRow:
    """Store a new task for the user; TaskLimitReached if they hold `max_tasks` (0: no limit)."""
    await _check_task_limit(db, owner.user_id, max_tasks)
    now = utcnow()
    values = _new_task(owner.user_id, data, now)
    return await _recreating_user(
        db, owner, known_users, lambda: change_log.insert_task(db, values, now)
    )


async def create_task_once(
    db: Database,
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
    now = utcnow()
    request = IdempotentRequest.of(owner.user_id, key, data, now)
    if (stored := await idempotency.find(db, request)) is not None:
        return await _replay(db, owner.user_id, stored)
    await _check_task_limit(db, owner.user_id, max_tasks)
    await ensure_user(db, owner, known_users)
    values = _new_task(owner.user_id, data, now)

    async def create() -> StoredResponse:
        try:
            async with db.transaction() as tx:
                task = await change_log.insert_task(tx, values, now)
                await idempotency.store(db, tx, request, 201, task["id"], keys_per_user)
            return StoredResponse(201, task_view(task), replayed=False)
        except IntegrityViolation:
            if (stored := await idempotency.find(db, request)) is not None:
                return await _replay(db, owner.user_id, stored)
            raise

    return await _recreating_user(db, owner, known_users, create)


async def _replay(db: Database, user_id: str, stored: StoredKey) -> StoredResponse:
    """The answer to a retry: the task the key created, as it is now."""
    task = await task_repository.get(db, user_id, stored.task_id)
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
    db: Database,
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
    if ("completed" in changes and recurring) or reminding:
        async with db.transaction() as tx:
            return await _update_locked(tx, task, changes, version, max_tasks)
    async with db.transaction() as tx:
        changed = await task_repository.update_fields(tx, task, changes, version, utcnow())
        written = await _written(tx, changed, task)
        await change_log.record(tx, task["user_id"], [change_log.updated(written)])
    return written


async def toggle_task(
    db: Database, task: TaskRow, version: int | None = None, *, max_tasks: int = 0
) -> TaskRow:
    """Flip the task between pending and completed (see update_task for recurring tasks)."""
    if task["recurrence"] or task["next_occurrence_id"] or task["reminders"]:
        async with db.transaction() as tx:
            return await _update_locked(tx, task, None, version, max_tasks)
    async with db.transaction() as tx:
        written = await _written(
            tx, await task_repository.toggle(tx, task, version, utcnow()), task
        )
        await change_log.record(tx, task["user_id"], [change_log.updated(written)])
    return written


async def _update_locked(
    tx: Database,
    task: TaskRow,
    changes: dict[str, Any] | None,
    version: int | None,
    max_tasks: int,
) -> TaskRow:
    """Inside a transaction, on the locked row: the change plus the bookkeeping of the series
    and of the reminders."""
    current = await task_repository.lock(tx, task)
    if current is None:
        raise TaskNotFound(task["id"])
    if version is not None and current["version"] != version:
        raise PreconditionFailed(task["id"])
    now = utcnow()
    if changes is None:  # a toggle, decided on the locked row
        changes = {"completed": not current["completed"]}
    changes = dict(changes)
    completed = changes.get("completed", current["completed"])
    completing = completed and not current["completed"]
    reopening = current["completed"] and not completed
    reminders = _new_reminders(current, changes)
    logged: list[change_log.NewChange] = []
    if completing:
        successor = {**current, **changes, "reminders": reminders}
        if successor["recurrence"]:
            # The occurrence is a new task: the cap applies as on create (rolled back with it).
            await _check_task_limit(tx, current["user_id"], max_tasks)
            occurrence = await _create_next_occurrence(tx, successor, now)
            if occurrence is not None:
                logged.append(change_log.created(occurrence))
            changes["next_occurrence_id"] = None if occurrence is None else occurrence["id"]
    elif reopening and (occurrence_id := current["next_occurrence_id"]) is not None:
        # Undoing a completion removes the occurrence it created, unless that one is done too.
        if await task_repository.delete_if_pending(tx, current["user_id"], occurrence_id):
            logged.append(change_log.deleted(occurrence_id, now))
        changes["next_occurrence_id"] = None
    if completed:
        reminders = cancelled(reminders)  # a done task reminds nobody
    if reminders != current["reminders"]:
        changes |= {"reminders": reminders, "next_reminder_at": next_fire_at(reminders)}
    changed = await task_repository.update_fields(tx, task, changes, None, now)
    assert changed is not None  # the row is locked
    await change_log.record(tx, changed["user_id"], [*logged, change_log.updated(changed)])
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


async def _create_next_occurrence(
    tx: Database, task: dict[str, Any], now: datetime
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
    values = {name: task[name] for name in task_repository.CREATED_FIELDS} | {
        "completed": False,
        "completed_at": None,
        "due_date": due,
        "due_at": due_at,
        "recurrence_anchor": anchor,
        "reminders": reminders,
        "next_reminder_at": next_fire_at(reminders),
    }
    return await task_repository.insert_one(tx, values, now)


async def delete_task(db: Database, task: TaskRow, version: int | None = None) -> None:
    """Remove the task for good (only if it still has `version`, when given)."""
    async with db.transaction() as tx:
        if not await task_repository.delete_one(tx, task, version):
            raise await _unwritten(tx, task)
        await change_log.record(tx, task["user_id"], [change_log.deleted(task["id"])])


async def _written(db: Database, changed: TaskRow | None, task: TaskRow) -> TaskRow:
    """The changed row, or the reason there is none."""
    if changed is None:
        raise await _unwritten(db, task)
    return changed


async def _unwritten(db: Database, task: TaskRow) -> ApiError:
    """Why a write found no row: deleted meanwhile (404) or changed meanwhile (412)."""
    if await task_repository.get(db, task["user_id"], task["id"]) is None:
        return TaskNotFound(task["id"])
    return PreconditionFailed(task["id"])


# --- bulk -------------------------------------------------------------------------------------


async def complete_tasks(
    db: Database, user_id: str, selection: BulkComplete, *, max_tasks: int = 0
) -> list[int]:
    """Complete the selected pending tasks (or the oldest MAX_BULK_TASKS pending ones) in one
    transaction; the ids completed. Recurring ones get their next occurrence, as when completed
    one by one: TaskLimitReached, and nothing completed, if those would pass `max_tasks`."""
    async with db.transaction() as tx:
        tasks = await task_repository.lock_pending(tx, user_id, selection.ids)
        plain = []
        for task in tasks:
            if task["recurrence"] or task["next_occurrence_id"] or task["reminders"]:
                await _update_locked(tx, task, {"completed": True}, None, max_tasks)
            else:
                plain.append(task["id"])
        if plain:
            completed = await task_repository.complete_all(tx, user_id, plain, utcnow())
            await change_log.record(tx, user_id, [change_log.updated(row) for row in completed])
    return [task["id"] for task in tasks]


async def delete_completed(db: Database, user_id: str) -> list[int]:
    """Delete every completed task of the user, in one statement; the ids deleted."""
    async with db.transaction() as tx:
        ids = await task_repository.delete_completed(tx, user_id)
        now = utcnow()
        await change_log.record(tx, user_id, [change_log.deleted(task_id, now) for task_id in ids])
    return ids
