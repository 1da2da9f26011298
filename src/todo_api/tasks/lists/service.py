"""Lists: the rules for creating, renaming, ordering and deleting one user's lists of tasks.

A list's tasks are deleted with it, each a logged deletion. Moves of one user's lists wait on
each other (on the user's row), so that two at one spot never take one position.
"""

from typing import Any

from todo_api.accounts import KnownUsers, Principal, ensure_user, lock_user
from todo_api.core import positions
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, Store, UnitOfWork
from todo_api.core.errors import PreconditionFailed
from todo_api.tasks import logged as task_logged
from todo_api.tasks import repository as tasks
from todo_api.tasks.lists import logged, repository
from todo_api.tasks.lists.errors import ListLimitReached, ListNotFound
from todo_api.tasks.lists.events import KIND
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.lists.schemas import ListCreate, ListMove
from todo_api.tasks.sharing import access
from todo_api.tasks.sharing import repository as sharing
from todo_api.tasks.sharing.models import Role


async def get_list(db: Database, user_id: str, list_id: int) -> ListRow:
    """The user's list with this id; ListNotFound for anybody else's."""
    row = await repository.get(db, user_id, list_id)
    if row is None:
        raise ListNotFound(list_id)
    return row


async def create_list(
    store: Store, owner: Principal, data: ListCreate, known_users: KnownUsers, *, max_lists: int
) -> ListRow:
    """Store a new list, last in the user's order; ListLimitReached past `max_lists`."""
    if max_lists and await repository.count(store.db, owner.user_id) >= max_lists:
        raise ListLimitReached(max_lists)
    await ensure_user(store.db, owner, known_users)
    now = utcnow()
    values = {
        "owner": owner.user_id,
        "name": data.name,
        "color": data.color,
        "position": positions.created(now),
    }
    row = await repository.create(store, values, now, logged.created(values, now))
    return row | {"task_count": 0}


async def update_list(
    store: Store, row: ListRow, changes: dict[str, Any], version: int | None
) -> ListRow:
    """Write the changed fields (`ListPatch.changes()`), only if the list still has `version`
    (when given)."""
    if not changes:
        return row
    async with store.write() as uow:
        changed = await repository.update_fields(uow.db, row, changes, version, utcnow())
        written = await _written(uow.db, changed, row)
        uow.record(logged.updated(written))
    return written


async def delete_list(store: Store, row: ListRow, version: int | None) -> None:
    """Delete the list and its tasks, each a logged deletion."""
    async with store.write() as uow:
        current = await repository.lock(uow.db, row["user_id"], row["id"])
        if current is None:
            raise ListNotFound(row["id"])
        if version is not None and current["version"] != version:
            raise PreconditionFailed(KIND, row["id"])
        now = utcnow()
        # Read before the list goes: its members go with it.
        feeds = (row["user_id"], *await sharing.member_ids(uow.db, row["id"]))
        for task_id in await tasks.delete_in_list(uow.db, row["user_id"], row["id"]):
            uow.record(task_logged.gone(feeds, task_id, now))
        await repository.delete_one(uow.db, row, None)
        uow.record(logged.deleted(feeds, row["id"]))


async def move_list(store: Store, row: ListRow, move: ListMove) -> ListRow:
    """Put the list right after `after_id`, right before `before_id`, or first."""
    owner, moving = row["user_id"], row["id"]
    if moving in (move.after_id, move.before_id):
        return row  # next to itself, it stays where it is
    async with store.write() as uow:
        await lock_user(uow.db, owner)
        if await repository.lock(uow.db, owner, moving) is None:
            raise ListNotFound(moving)
        lower, upper = await _spot(uow.db, owner, moving, move)

        async def read(at: str, count: int, upward: bool) -> list[positions.Sibling]:
            return list(await repository.neighbours(uow.db, owner, moving, at, count, upward))

        placed = await positions.place(lower, upper, read)
        now = utcnow()
        for list_id, position in placed.respaced:
            await repository.set_position(uow.db, owner, list_id, position, now)
        await repository.set_position(uow.db, owner, moving, placed.position, now)
        moved = await _record_updates(uow, owner, [*(i for i, _ in placed.respaced), moving])
    return moved


async def _spot(
    db: Database, owner: str, moving: int, move: ListMove
) -> tuple[str | None, str | None]:
    """The positions of the lists the moving one goes between (None: an end)."""
    if move.after_id is not None:
        after = await get_list(db, owner, move.after_id)
        following = await repository.neighbours(db, owner, moving, after["position"], 2, True)
        upper = next((s.position for s in following if s.id != after["id"]), None)
        return after["position"], upper
    if move.before_id is not None:
        before = await get_list(db, owner, move.before_id)
        preceding = await repository.neighbours(db, owner, moving, before["position"], 2, False)
        lower = next((s.position for s in preceding if s.id != before["id"]), None)
        return lower, before["position"]
    first = await repository.neighbours(db, owner, moving, "", 1, True)
    return None, first[0].position if first else None


async def _record_updates(uow: UnitOfWork, owner: str, list_ids: list[int]) -> ListRow:
    """Log each list's new state; the last one's row."""
    row: ListRow | None = None
    for list_id in list_ids:
        row = await repository.get(uow.db, owner, list_id)
        assert row is not None  # locked, or moved within this transaction
        uow.record(logged.updated(row))
    assert row is not None
    return row


async def _written(db: Database, changed: ListRow | None, row: ListRow) -> ListRow:
    """The changed list with its task count, or why there is none: deleted meanwhile (404) or
    changed meanwhile (412)."""
    current = await repository.get(db, row["user_id"], row["id"])
    if current is None:
        raise ListNotFound(row["id"])
    if changed is None:
        raise PreconditionFailed(KIND, row["id"])
    return current


async def find_list(db: Database, user_id: str, ref: int | str) -> ListRow | None:
    """The list `ref` names among the user's own and those shared with them: by id, or by
    name (ignoring case, their own first; a name of digits that no list has is read as an
    id); None for the Inbox (`inbox`). ListNotFound otherwise."""
    if isinstance(ref, str):
        name = ref.strip()
        if name.casefold() == "inbox":
            return None
        if (row := await repository.named(db, user_id, name)) is not None:
            return row
        shared = await sharing.shared_with(db, user_id)
        if row := next((r for r in shared if r["name"].casefold() == name.casefold()), None):
            return row
        if not name.isdigit():
            raise ListNotFound(0)
        ref = int(name)
    return (await access.list_for(db, user_id, ref, Role.viewer)).row


async def lists_of(db: Database, user_id: str) -> list[ListRow]:
    """The user's lists in their order, then those shared with them in the order they joined,
    each with its task count and the user's role."""
    own = [row | {"role": "owner"} for row in await repository.all_of(db, user_id)]
    return [*own, *await sharing.shared_with(db, user_id)]
