"""Reading a user's tasks: a listing's pages (and how to get the next), stats and tags."""

from dataclasses import dataclass
from datetime import date

from todo_api import sync
from todo_api.core.clock import utcnow
from todo_api.core.database import Database
from todo_api.tasks import queries, repository
from todo_api.tasks.errors import ParentNotFound, TaskNotFound
from todo_api.tasks.listing import Cursor, TaskListQuery
from todo_api.tasks.models import TaskRow
from todo_api.tasks.queries import ListedTask
from todo_api.tasks.schemas import TagCount, TaskStats
from todo_api.tasks.sharing import access
from todo_api.tasks.sharing.models import Role


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, and how to get the next."""

    tasks: list[ListedTask]
    next_cursor: str | None = None
    next_offset: int | None = None
    total: int | None = None
    # The epoch of the reader's change log, read with the rows (None when there were none).
    log_epoch: int | None = None


async def list_tasks(db: Database, user_id: str, query: TaskListQuery) -> Page:
    """A page of the tasks the user sees (their own, and those of the lists shared with
    them), filtered and sorted as the query asks; ListNotFound or ParentNotFound when it names
    a list or a task the user does not see."""
    owner = user_id  # whose tasks the page holds: a shared list's are its owner's
    # A list's page in its order finds the list's owner itself, and sees nothing of a list the
    # user does not see: asked only when it comes back empty.
    owner_found_by_page = query.is_list_order and not query.count
    if isinstance(query.list_id, int) and not owner_found_by_page:
        owner = (await access.list_for(db, user_id, query.list_id, Role.viewer)).row["user_id"]
    if isinstance(query.parent_id, int):
        try:
            parent = await access.task_for(db, user_id, query.parent_id, Role.viewer)
        except TaskNotFound:
            raise ParentNotFound(query.parent_id) from None
        owner = parent.row["user_id"]
    position = query.position()
    rows = await queries.page(db, owner, query, position, user_id)
    if isinstance(query.list_id, int) and owner_found_by_page and not rows:
        await access.list_for(db, user_id, query.list_id, Role.viewer)
    log_epoch = sync.epoch_of(rows)
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    # The rows leave with just what clients see (views.py writes such rows as they are).
    keys = [row.pop("sort_key", None) for row in rows]
    next_cursor = next_offset = total = None
    if has_more and query.offset is not None:
        next_offset = query.offset + query.limit
    elif has_more:
        key = keys[-1]
        if isinstance(key, date):  # datetimes too
            key = key.isoformat()
        assert key is None or isinstance(key, int | str)
        next_cursor = Cursor(sort=query.sort_name, key=key, id=rows[-1]["id"]).encode()
    if query.count:
        # COUNT(*) grows with the user's tasks: only when asked for.
        total = await queries.count(db, owner, query)
    elif not has_more and position is None and not query.offset:
        # The whole result is on this first page: its count costs nothing.
        total = len(rows)
    return Page(rows, next_cursor, next_offset, total, log_epoch)


async def task_stats(db: Database, user_id: str) -> TaskStats:
    """Counts of the user's tasks: total, pending, completed, overdue, due today (UTC)."""
    return TaskStats(**await queries.counts(db, user_id, utcnow()))


async def tag_counts(db: Database, user_id: str) -> list[TagCount]:
    """The user's tags (spelt as on the task that sorts first, ignoring case) with task counts,
    most used first."""
    return [TagCount(**use) for use in await queries.tag_uses(db, user_id)]


async def tasks_by_ids(db: Database, owner: str, task_ids: list[int]) -> list[TaskRow]:
    """The owner's tasks among `task_ids` (whole rows, by id): for a caller who already knows
    they see the owner's tasks (their own, or a shared list's, checked by the list)."""
    return await repository.get_many(db, owner, task_ids)
