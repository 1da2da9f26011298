"""The part of a listing that comes from the lists shared with the user, and its merge with
the user's own part into one page (one statement, each part a range scan of its own index)."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select, true, union_all

from todo_api.tasks.repository import TASK
from todo_api.tasks.sharing.repository import MEMBER


def shared_lists(user: Any) -> Select[Any]:
    """The ids of the lists shared with `user`."""
    return select(MEMBER.c.list_id).where(MEMBER.c.user_id == user)


def shared_part(
    dialect: str,
    columns: list[Any],
    conditions: list[Any],
    order: tuple[Any, ...],
    fetch: Any,
    user: Any,
) -> Select[Any]:
    """Up to `fetch` tasks, in `order`, of the lists shared with `user` that meet `conditions`.

    Led by the user's memberships, never by the task table: walking the primary key (or
    hashing the whole table) for a LIMIT would read every task there is for a user in few or
    no shared lists, which both planners would otherwise choose. PostgreSQL takes each list's
    tasks by a LATERAL range scan of `ix_task_list_id_id`, limited; SQLite, which has no
    LATERAL, is kept off the primary key by ordering on `id + 0`.
    """
    by_id = len(order) == 1 and order[0] is TASK.c.id
    if dialect == "postgresql" and by_id:
        # By id: each list's first ids straight from the index, the page's ids of them all,
        # and only then those tasks' rows, joined in id order: the merge with the user's own
        # part takes rows as they come (a Merge Append) instead of sorting both parts whole.
        per_list = _per_list(user, [TASK.c.id], conditions, order, fetch)
        first = select(per_list.c.id).order_by(per_list.c.id).limit(fetch).subquery("first")
        return (
            select(*columns)
            .select_from(first.join(TASK, TASK.c.id == first.c.id))
            .order_by(first.c.id)
        )
    if dialect == "postgresql":
        return select(*_per_list(user, columns, conditions, order, fetch).c)
    unindexed = tuple(TASK.c.id + 0 if term is TASK.c.id else term for term in order)
    return (
        select(*columns)
        .where(TASK.c.list_id.in_(shared_lists(user)), *conditions)
        .order_by(*unindexed)
        .limit(fetch)
    )


def _per_list(
    user: Any, columns: list[Any], conditions: list[Any], order: tuple[Any, ...], fetch: Any
) -> Any:
    """For each list shared with `user`, its first `fetch` tasks in `order` (`columns` of them):
    a LATERAL range scan of `ix_task_list_id_id` per membership."""
    # DISTINCT tells the planner what it cannot know of `list_member` alone, that a user's
    # list ids are all different: otherwise it caches each list's scan in a Memoize node, which
    # copies every row it passes and is never hit.
    lists = shared_lists(user).distinct().subquery("lists")
    per_list = (
        select(*columns)
        .where(TASK.c.list_id == lists.c.list_id, *conditions)
        .order_by(*order)
        .limit(fetch)
        .lateral("per_list")
    )
    return select(*per_list.c).select_from(lists).join(per_list, true()).subquery("shared")


def with_shared(
    own: Select[Any], shared: Select[Any], order: Callable[[Any], tuple[Any, ...]], fetch: Any
) -> Select[Any]:
    """The user's own page and the page of their shared lists' tasks, merged into one: each
    part is a range scan of its own index with LIMIT, so a user in no shared list pays for
    an empty join and nothing else. `order` gives the order by a row's columns."""
    parts = [part.subquery() for part in (own, shared)]
    both = union_all(*(select(*part.c) for part in parts)).subquery("both")
    # Named afresh: SQLAlchemy's own names of a subquery's columns are str subclasses, which
    # SQLite's rows would carry as their keys (and orjson writes no such key).
    named = [column.label(str(column.key)) for column in both.c]
    return select(*named).order_by(*order(both.c)).limit(fetch)
