"""Creating tasks: a new task's values, its place (its list, or its parent, held while the
task is inserted under it), the task cap, and `Idempotency-Key` replays.

A plain create (no list, no parent) is a write of its own on the store: one statement on
PostgreSQL. One into a list or under a parent is a unit of work that holds that first.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from todo_api.accounts import KnownUsers, Principal, ensure_user
from todo_api.core import positions
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, IntegrityViolation, Store, UnitOfWork
from todo_api.tasks import actor, idempotency, logged, repository, tree
from todo_api.tasks.errors import (
    IdempotentTaskDeleted,
    ParentInOtherList,
    ParentNotFound,
    ReminderTooEarly,
    TaskLimitReached,
    TaskNotFound,
    TooDeep,
)
from todo_api.tasks.idempotency import IdempotentRequest, StoredKey, StoredResponse
from todo_api.tasks.lists import repository as lists
from todo_api.tasks.lists.errors import ListNotFound
from todo_api.tasks.models import TaskRow
from todo_api.tasks.reminders import (
    ReminderOutOfRange,
    next_fire_at,
    resolve,
)
from todo_api.tasks.schemas import Priority, Recurrence, TaskCreate
from todo_api.tasks.sharing import access
from todo_api.tasks.sharing.models import Role

_T = TypeVar("_T")


class Created(NamedTuple):
    """A task just stored, and its JSON as clients see it."""

    row: TaskRow
    # The JSON its creation logged (the log holds the task as clients see it), not written
    # again for the response; a test pins it to what a read of the task answers.
    json: bytes


async def get_task(db: Database, user_id: str, task_id: int) -> TaskRow:
    """The task with this id if it belongs to the user; TaskNotFound for anybody else's."""
    task = await repository.get(db, user_id, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def columns(data: dict[str, Any]) -> dict[str, Any]:
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
    return columns(data.model_dump(exclude={"reminders"})) | {
        "user_id": owner,
        "position": positions.created(now),
        "completed_at": now if data.completed else None,
        "created_by": actor.current() or owner,
        "reminders_by": (actor.current() or owner) if reminders else None,
        "completed_by": (actor.current() or owner) if data.completed else None,
        "recurrence_anchor": data.due_date if data.recurrence else None,
        "reminders": reminders,
        "next_reminder_at": next_fire_at(reminders),
    }


async def _tenant(db: Database, caller: str, data: TaskCreate) -> str:
    """Whose the new task is: the caller's, or the owner's of the shared list (or parent) it
    goes in, if the caller edits it; the caller writes it either way (`created_by`)."""
    actor.act_as(caller)
    if data.list_id is None and data.parent_id is None:
        return caller
    return await access.creator_of(db, caller, data.list_id, data.parent_id)


async def check_task_limit(db: Database, user_id: str, max_tasks: int, adding: int = 1) -> None:
    """TaskLimitReached if `adding` more tasks would pass `max_tasks` (0: no limit)."""
    # Creates racing each other near the limit may overshoot it by the number of concurrent
    # requests of that one user; their rate limit bounds that.
    room = max_tasks - adding + 1
    if max_tasks and (room < 1 or await repository.holds_at_least(db, user_id, room)):
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


async def _insert(writer: Store | UnitOfWork, values: dict[str, Any], now: datetime) -> Created:
    record = logged.created(values, now)
    row = await repository.create(writer, values, now, record)
    return Created(row, record.data_of(row["id"]).encode())


async def _placed(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    """A new task's values once its parent (held: its counts change) or list (held: it must
    stay) is known to be the owner's, and deep enough room is left under the parent."""
    owner, parent_id, list_id = values["user_id"], values["parent_id"], values["list_id"]
    if parent_id is not None:
        parent = await tree.lock(uow.db, owner, parent_id)
        if parent is None:
            raise ParentNotFound(parent_id)
        if list_id is not None and list_id != parent["list_id"]:
            raise ParentInOtherList()
        if await tree.depth(uow.db, owner, parent_id) >= tree.MAX_DEPTH:
            raise TooDeep("parent_id", tree.MAX_DEPTH)
        return values | {"list_id": parent["list_id"]}
    if list_id is not None and await lists.lock(uow.db, owner, list_id) is None:
        raise ListNotFound(list_id)
    return values


async def _create_in(uow: UnitOfWork, values: dict[str, Any], now: datetime) -> Created:
    """Insert the task (placed, in a unit of work); its parent's counts follow."""
    values = await _placed(uow, values)
    created = await _insert(uow, values, now)
    if values["parent_id"] is not None:
        await tree.refresh_counts(uow, created.row["user_id"], [values["parent_id"]])
    return created


async def create_task(
    store: Store,
    owner: Principal,
    data: TaskCreate,
    known_users: KnownUsers,
    *,
    max_tasks: int = 0,
) -> Created:
    """Store a new task for the user (or, in a shared list they edit, for its owner), last
    in its list (or under its parent); TaskLimitReached if that owner holds `max_tasks` (0: no
    limit)."""
    tenant = await _tenant(store.db, owner.user_id, data)
    await check_task_limit(store.db, tenant, max_tasks)
    now = utcnow()
    values = _new_task(tenant, data, now)
    if data.list_id is None and data.parent_id is None:
        return await _recreating_user(
            store.db, owner, known_users, lambda: _insert(store, values, now)
        )
    await ensure_user(store.db, owner, known_users)
    async with store.write() as uow:
        return await _create_in(uow, values, now)


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
    tenant = await _tenant(db, owner.user_id, data)
    await check_task_limit(db, tenant, max_tasks)
    await ensure_user(db, owner, known_users)
    values = _new_task(tenant, data, now)

    async def create() -> StoredResponse:
        try:
            async with store.write() as uow:
                task, json = await _create_in(uow, values, now)
                await idempotency.store(db, uow.db, request, 201, task["id"], keys_per_user)
            return StoredResponse(201, task, replayed=False, json=json)
        except IntegrityViolation:
            if (stored := await idempotency.find(db, request)) is not None:
                return await _replay(db, owner.user_id, stored)
            raise

    return await _recreating_user(db, owner, known_users, create)


async def _replay(db: Database, user_id: str, stored: StoredKey) -> StoredResponse:
    """The answer to a retry: the task the key created, as it is now (as the user sees it:
    one made in a shared list is the list owner's)."""
    try:
        task = (await access.task_for(db, user_id, stored.task_id, Role.viewer)).row
    except TaskNotFound:
        raise IdempotentTaskDeleted() from None
    return StoredResponse(stored.status_code, task, replayed=True)
