"""Who may do what with a list and its tasks: its owner everything, its members what their
role allows (`models.Role`).

A caller's own list or task is found by the same query as before sharing existed; only when
that finds nothing is their membership looked up, so that sharing costs the unshared nothing.
Someone not in the list gets 404, as if it did not exist; a member whose role falls short, 403.
"""

from dataclasses import dataclass
from typing import Generic, NotRequired, TypeVar

from sqlalchemy import bindparam, select

from todo_api.core.database import Database, Rows
from todo_api.core.fields import MAX_ID
from todo_api.tasks import actor
from todo_api.tasks import repository as tasks
from todo_api.tasks.errors import ParentNotFound, TaskNotFound
from todo_api.tasks.lists import repository as lists
from todo_api.tasks.lists.errors import ListNotFound
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.models import TaskRow
from todo_api.tasks.sharing.errors import NotAllowed
from todo_api.tasks.sharing.models import Role
from todo_api.tasks.sharing.repository import MEMBER

R = TypeVar("R")


class _MembersTask(TaskRow):
    role: NotRequired[str]


_MEMBERS_TASK = Rows[_MembersTask](
    select(tasks.TASK, MEMBER.c.role)
    .join(MEMBER, MEMBER.c.list_id == tasks.TASK.c.list_id)
    .where(tasks.TASK.c.id == bindparam("task_id"), MEMBER.c.user_id == bindparam("caller"))
)
_MEMBERS_LIST = Rows[ListRow](
    select(lists.LIST, lists.TASK_COUNT, MEMBER.c.role)
    .join(MEMBER, MEMBER.c.list_id == lists.LIST.c.id)
    .where(lists.LIST.c.id == bindparam("list_id"), MEMBER.c.user_id == bindparam("caller"))
)

_REFUSALS = {
    Role.editor: "A viewer of this list cannot change it or its tasks",
    Role.owner: "Only the list's owner can do this",
}


@dataclass(frozen=True, slots=True)
class Shared(Generic[R]):
    """A row the caller may see, and their role in its list."""

    row: R
    role: Role

    @property
    def owned(self) -> bool:
        """Whether the caller owns it (and may, say, take a task out of its list)."""
        return self.role is Role.owner


def require(role: Role, needed: Role) -> None:
    """NotAllowed unless `role` is `needed` or more."""
    if role.rank < needed.rank:
        raise NotAllowed(_REFUSALS[needed])


async def task_for(db: Database, caller: str, task_id: int, needed: Role) -> Shared[TaskRow]:
    """The task `task_id` if the caller owns it or is in its list with `needed` or more."""
    task = await tasks.get(db, caller, task_id)
    if task is not None:
        return Shared(task, Role.owner)
    if not 1 <= task_id <= MAX_ID:
        raise TaskNotFound(task_id)
    row = await db.fetch_one(_MEMBERS_TASK, {"task_id": task_id, "caller": caller})
    if row is None:
        raise TaskNotFound(task_id)
    role = Role(row.pop("role"))
    require(role, needed)
    return Shared(row, role)


async def writable_task(db: Database, caller: str, task_id: int) -> Shared[TaskRow]:
    """The task `task_id` if the caller may write it (theirs, or of a list they edit), whose
    writes from here on are the caller's (`completed_by`)."""
    shared = await task_for(db, caller, task_id, Role.editor)
    actor.act_as(caller)
    return shared


async def creator_of(db: Database, caller: str, list_id: int | None, parent_id: int | None) -> str:
    """Whose task a new one is: the owner of the list (or of the parent task) it goes in, if
    the caller may add tasks there (their own, or a shared list they edit)."""
    if parent_id is not None:
        try:
            return (await task_for(db, caller, parent_id, Role.editor)).row["user_id"]
        except TaskNotFound:
            raise ParentNotFound(parent_id) from None
    if list_id is not None:
        return (await list_for(db, caller, list_id, Role.editor)).row["user_id"]
    return caller


async def sees(db: Database, user_id: str, task: TaskRow) -> bool:
    """Whether the user sees the task: theirs, or in a list they are in."""
    if task["user_id"] == user_id:
        return True
    try:
        await task_for(db, user_id, task["id"], Role.viewer)
    except TaskNotFound:
        return False
    return True


async def list_for(db: Database, caller: str, list_id: int, needed: Role) -> Shared[ListRow]:
    """The list `list_id` if the caller owns it or is in it with `needed` or more."""
    row = await lists.get(db, caller, list_id)
    if row is not None:
        return Shared(row | {"role": Role.owner.value}, Role.owner)
    if not 1 <= list_id <= MAX_ID:
        raise ListNotFound(list_id)
    shared = await db.fetch_one(_MEMBERS_LIST, {"list_id": list_id, "caller": caller})
    if shared is None:
        raise ListNotFound(list_id)
    role = Role(shared["role"])
    require(role, needed)
    return Shared(shared, role)
