"""Moving a task: into another list or under another parent, with its subtasks, and to a spot
among its new siblings (right after one, right before one, first, or last).

Where a task goes is its container, `(list_id, parent_id)`. A move holds the container's row
first (the parent task, else the list, else, for the Inbox's top level, the user's row), so
that two moves to one spot take turns and never get one position; and the parents whose
subtasks change, whose counts it refreshes. Rows are held in one order (user, list, tasks by
id), so that two moves never wait on each other.

A move of its own (`POST …/move`) into a list's top level holds the list for share instead:
moves within one list go on side by side, each taking a key that ends with its task's id
(`positions.apart`), so two of them never get one position. One whose gap is too narrow for
that raises Crowded, and is made again holding the list alone, respacing the neighbours;
creations, joins and leaves, and edits of the list hold it alone too.
"""

from dataclasses import dataclass
from datetime import datetime

from todo_api.accounts import lock_user
from todo_api.core import positions
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, UnitOfWork
from todo_api.core.errors import PreconditionFailed
from todo_api.tasks import logged, repository, tree
from todo_api.tasks.errors import (
    NotASibling,
    ParentInOtherList,
    ParentNotFound,
    TaskNotFound,
    TooDeep,
    UnderItself,
)
from todo_api.tasks.events import KIND
from todo_api.tasks.lists import repository as lists
from todo_api.tasks.lists.errors import ListNotFound
from todo_api.tasks.models import TaskRow
from todo_api.tasks.sharing import repository as sharing
from todo_api.tasks.sharing.errors import NotAllowed

Container = tuple[int | None, int | None]
# After every position: where "last" is looked for from (base-62 digits sort below it).
_END = "~"


class Crowded(Exception):
    """A move that holds its list for share found its gap too narrow for a key of its own:
    make it again holding the list alone (nothing was written)."""


@dataclass(frozen=True, slots=True)
class Spot:
    """Where among its new siblings a task goes: right after `after_id`, right before
    `before_id`, else first, or last if `last`."""

    after_id: int | None = None
    before_id: int | None = None
    last: bool = False


async def container_for(
    db: Database,
    task: TaskRow,
    list_id: int | None,
    parent_id: int | None,
    *,
    list_sent: bool,
    parent_sent: bool,
    within_list: bool = False,
) -> Container:
    """Where a task goes, from what a request sent: under a parent (in its list), else in a
    list (at its top if the list changes), else where it is.

    `within_list`: the caller (a member of the task's shared list) may not take it out:
    NotAllowed for another list, and a parent elsewhere is one they cannot see (404).
    """
    if within_list and list_sent and list_id != task["list_id"]:
        raise NotAllowed("Only the list's owner can move its tasks to another list")
    if parent_sent and parent_id is not None:
        parent = await repository.get(db, task["user_id"], parent_id)
        if parent is None or (within_list and parent["list_id"] != task["list_id"]):
            raise ParentNotFound(parent_id)
        if list_sent and list_id != parent["list_id"]:
            raise ParentInOtherList()
        return parent["list_id"], parent_id
    if parent_sent:
        return (list_id if list_sent else task["list_id"]), None
    if list_sent and list_id != task["list_id"]:
        return list_id, None
    return task["list_id"], task["parent_id"]


async def hold(
    uow: UnitOfWork, owner: str, container: Container, parents: set[int], *, shared: bool = False
) -> None:
    """Hold the container's row and the rows of `parents` (whose counts will change), in the
    one order every write holds them in; `shared`: a list's row for share."""
    list_id, parent_id = container
    if parent_id is None and list_id is None:
        await lock_user(uow.db, owner)
    if parent_id is None and list_id is not None:
        if shared:
            members = await lists.share(uow.db, owner, list_id)
        else:
            held = await lists.lock(uow.db, owner, list_id)
            members = None if held is None else held["member_count"]
        if members is None:
            raise ListNotFound(list_id)
        if not members:
            uow.knows(list_id, ())
    for task_id in sorted(parents | ({parent_id} if parent_id is not None else set())):
        if await tree.lock(uow.db, owner, task_id) is None:
            raise TaskNotFound(task_id)


async def check_parent(db: Database, task: TaskRow, parent_id: int, below: list[TaskRow]) -> None:
    """UnderItself or TooDeep, if the task (with its subtasks `below`) cannot go there."""
    if parent_id == task["id"] or parent_id in {row["id"] for row in below}:
        raise UnderItself()
    if await tree.depth(db, task["user_id"], parent_id) + tree.height(task, below) > tree.MAX_DEPTH:
        raise TooDeep("parent_id", tree.MAX_DEPTH)


async def relocate(
    uow: UnitOfWork,
    task: TaskRow,
    container: Container,
    spot: Spot,
    *,
    within_list: bool = False,
    alone: bool = True,
    version: int | None = None,
) -> TaskRow:
    """Move the task (with its subtasks) into `container` at `spot`, in a unit of work; the task
    as it is then. Its own fields are otherwise left as they were.

    Unless `alone`, a list is held for share, and Crowded raised where neighbours need
    respacing (before anything is written). `version`: only if the task still has it, checked
    once the container is held (the task after its list, as every write holds them), else
    PreconditionFailed."""
    owner = task["user_id"]
    list_id, parent_id = container
    staying = container == _container_of(task)
    if staying and task["id"] in (spot.after_id, spot.before_id):
        return task  # next to itself, it stays where it is
    # Reordered among its siblings, neither it nor what is under it changes place otherwise.
    below = [] if staying else await tree.subtree(uow.db, owner, task["id"])
    if parent_id is not None and not staying:
        await check_parent(uow.db, task, parent_id, below)
    old_parent = task["parent_id"]
    parents = {old_parent} if old_parent is not None else set()
    shared = not alone and list_id is not None and parent_id is None
    await hold(uow, owner, container, parents, shared=shared)
    if version is not None:
        await lock_at(uow, task, version)
    lower, upper = await _between(uow.db, task, container, spot, within_list)
    placed = await _place(uow, task, container, lower, upper, held_alone=not shared)
    now = utcnow()
    for sibling_id, position in placed.respaced:
        respaced = await repository.reposition(uow.db, owner, sibling_id, position, now)
        if respaced is not None:
            uow.record(logged.updated(respaced))
    moved = await repository.place(uow.db, task, container, placed.position, now)
    if moved is None:
        raise TaskNotFound(task["id"])
    if list_id != task["list_id"]:
        await _leave_members(uow, task, below, list_id, now)
    uow.record(logged.updated(moved))
    if list_id != task["list_id"]:
        await tree.move_to_list(uow, below, list_id)
    if parent_id != old_parent:
        await tree.refresh_counts(uow, owner, [old_parent, parent_id])
    return moved


async def lock_at(uow: UnitOfWork, task: TaskRow, version: int | None) -> TaskRow:
    """The task as stored now, held until the unit of work ends: TaskNotFound if it is gone,
    PreconditionFailed unless it still has `version` (when one is given)."""
    current = await repository.lock(uow.db, task)
    if current is None:
        raise TaskNotFound(task["id"])
    if version is not None and current["version"] != version:
        raise PreconditionFailed(KIND, task["id"])
    return current


async def _leave_members(
    uow: UnitOfWork, task: TaskRow, below: list[TaskRow], list_id: int | None, now: datetime
) -> None:
    """Tell the members of the task's shared list who are not in `list_id` that the task (and
    its subtasks) left their sight: a tombstone in their feeds."""
    if task["list_id"] is None:
        return
    staying = set(await sharing.member_ids(uow.db, list_id)) if list_id is not None else set()
    leaving = tuple(
        m for m in await sharing.member_ids(uow.db, task["list_id"]) if m not in staying
    )
    if leaving:
        uow.record(*(logged.gone(leaving, row["id"], now) for row in [task, *below]))


async def _place(
    uow: UnitOfWork,
    task: TaskRow,
    container: Container,
    lower: str | None,
    upper: str | None,
    *,
    held_alone: bool,
) -> positions.Placed:
    """The task's new position between `lower` and `upper`, and the neighbours respaced."""
    if not held_alone:
        key = positions.apart(lower, upper, task["id"])
        if key is None:
            raise Crowded()
        return positions.Placed(key, [])

    async def read(at: str, count: int, upward: bool) -> list[positions.Sibling]:
        found = await repository.siblings_from(uow.db, task, container, at, count, upward)
        return [positions.Sibling(sibling_id, position) for sibling_id, position in found]

    return await positions.place(lower, upper, read)


def _container_of(task: TaskRow) -> Container:
    return task["list_id"], task["parent_id"]


async def _between(
    db: Database, task: TaskRow, container: Container, spot: Spot, within_list: bool
) -> tuple[str | None, str | None]:
    """The positions of the siblings the task goes between (None: an end)."""
    if spot.after_id is not None or spot.before_id is not None:
        field = "after_id" if spot.after_id is not None else "before_id"
        neighbour_id = spot.after_id if spot.after_id is not None else spot.before_id
        assert neighbour_id is not None
        if neighbour_id == task["id"]:
            raise NotASibling(field)
        neighbour = await repository.get(db, task["user_id"], neighbour_id)
        # A member sees the list's tasks only: the owner's others are not there for them.
        if neighbour is None or (within_list and neighbour["list_id"] != task["list_id"]):
            raise TaskNotFound(neighbour_id)
        if _container_of(neighbour) != container:
            raise NotASibling(field)
        at, upward = neighbour["position"], spot.after_id is not None
        beyond = await repository.siblings_from(db, task, container, at, 2, upward)
        other = next((p for i, p in beyond if i != neighbour_id), None)
        return (at, other) if upward else (other, at)
    if spot.last:
        last = await repository.siblings_from(db, task, container, _END, 1, False)
        return (last[0][1] if last else None), None
    first = await repository.siblings_from(db, task, container, "", 1, True)
    return None, (first[0][1] if first else None)
