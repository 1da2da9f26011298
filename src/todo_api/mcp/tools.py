"""The task tools an AI assistant calls: each one what the matching REST route does.

Every tool acts for the caller the bearer token names (`endpoint.py` puts them in the request's
scope), goes through the same per-user rate limit, and calls the same task functions as the
REST routes, so the rules, the task cap and everything a write does are the same. A failure
comes back as an MCP tool error whose text is the `detail` the REST API answers with
(`server.py`). `TOOLS` lists them, each with its hints for clients.
"""

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from todo_api import tasks
from todo_api.mcp import organizing
from todo_api.mcp.arguments import (
    Clearable,
    DescriptionArg,
    DueAtArg,
    DueDateArg,
    IntervalArg,
    ListArg,
    PriorityArg,
    RecurrenceArg,
    TagsArg,
    TaskId,
    TitleArg,
    UserId,
)
from todo_api.mcp.calls import TaskChange, change, owner, result, sent
from todo_api.mcp.organizing import list_id_of

# The listing a plain `list_tasks` returns: REST's largest page.
LIST_LIMIT = 1000


class TaskSummary(TypedDict):
    """A task in `list_tasks`."""

    id: int
    title: str
    completed: bool


class SearchResult(TypedDict):
    """A page of `search_tasks`."""

    tasks: list[tasks.TaskRead]
    total: int | None
    next_offset: int | None


async def add_task(
    ctx: Context,
    title: TitleArg,
    description: DescriptionArg = None,
    priority: PriorityArg = None,
    due_date: DueDateArg = None,
    due_at: DueAtArg = None,
    tags: TagsArg = None,
    recurrence: RecurrenceArg = None,
    recurrence_interval: IntervalArg = None,
    list: ListArg = None,
    user_id: UserId = None,
) -> Annotated[CallToolResult, TaskChange]:
    """Add a task to the user's todo list (to `list`, else the Inbox). Only `title` is
    needed; returns the new task's id (`task_id`), `status: "created"` and its title."""
    caller = await owner(ctx, user_id)
    list_id = None if list is None else await list_id_of(caller, list)
    data = tasks.TaskCreate.model_validate(
        sent(
            list_id=list_id,
            title=title,
            description=description,
            priority=priority,
            due_date=due_date,
            due_at=due_at,
            tags=tags,
            recurrence=recurrence,
            recurrence_interval=recurrence_interval,
        )
    )
    task, _ = await tasks.create_task(
        caller.store,
        caller.user,
        data,
        caller.known_users,
        max_tasks=caller.settings.max_tasks_per_user,
    )
    return change(task, "created")


async def list_tasks(
    ctx: Context,
    status: Annotated[
        tasks.StatusFilter,
        Field(description="`all` (the default), `pending` (not done yet) or `completed`."),
    ] = tasks.StatusFilter.all,
    list: ListArg = None,
    user_id: UserId = None,
) -> Annotated[CallToolResult, list[TaskSummary]]:
    """List the user's tasks, oldest first (up to 1000), or those of one `list` in their
    order: each with its `id`, `title` and whether it is `completed`. To filter by text,
    priority, tag or due date, or to see every field of a task, use search_tasks."""
    caller = await owner(ctx, user_id)
    fields: dict[str, Any] = {"status": status, "limit": LIST_LIMIT}
    if list is not None:
        list_id = await list_id_of(caller, list)
        fields |= {"list_id": "inbox" if list_id is None else list_id, "sort": "position"}
    query = tasks.TaskListQuery.model_validate(fields)
    page = await tasks.list_tasks(caller.db, caller.user_id, query)
    return result(
        [
            {"id": task["id"], "title": task["title"], "completed": task["completed"]}
            for task in page.tasks
        ]
    )


async def complete_task(
    ctx: Context, task_id: TaskId, user_id: UserId = None
) -> Annotated[CallToolResult, TaskChange]:
    """Mark a task as done (a task done already stays done). A recurring task gets its next
    occurrence. To reopen a task, use update_task with `completed: false`."""
    caller = await owner(ctx, user_id)
    task = (await tasks.writable_task(caller.db, caller.user_id, task_id)).row
    if not task["completed"]:
        task = await tasks.update_task(
            caller.store, task, {"completed": True}, max_tasks=caller.settings.max_tasks_per_user
        )
    return change(task, "completed")


async def delete_task(
    ctx: Context, task_id: TaskId, user_id: UserId = None
) -> Annotated[CallToolResult, TaskChange]:
    """Delete a task for good. Returns the deleted task's id and title."""
    caller = await owner(ctx, user_id)
    task = (await tasks.writable_task(caller.db, caller.user_id, task_id)).row
    await tasks.delete_task(caller.store, task)
    return change(task, "deleted")


async def update_task(
    ctx: Context,
    task_id: TaskId,
    title: Annotated[tasks.Title | None, Field(description="A new title.")] = None,
    description: DescriptionArg = None,
    completed: Annotated[
        bool | None, Field(description="true marks it done, false reopens it.")
    ] = None,
    priority: PriorityArg = None,
    due_date: DueDateArg = None,
    due_at: DueAtArg = None,
    tags: Annotated[tasks.Tags | None, Field(description="The new labels (all of them).")] = None,
    recurrence: RecurrenceArg = None,
    recurrence_interval: IntervalArg = None,
    clear: Annotated[
        list[Clearable] | None,
        Field(description='Fields to empty, e.g. ["due_date"] to remove the due date.'),
    ] = None,
    list: Annotated[
        int | str | None,
        Field(description="Move it (with its subtasks) to this list, last: id, name or `inbox`."),
    ] = None,
    user_id: UserId = None,
) -> Annotated[CallToolResult, TaskChange]:
    """Change a task: only the fields given change, the others keep their values. Returns
    the task's id, `status: "updated"` and its (new) title."""
    caller = await owner(ctx, user_id)
    shared = await tasks.writable_task(caller.db, caller.user_id, task_id)
    moved = {} if list is None else {"list_id": await list_id_of(caller, list)}
    changes = (
        moved
        | dict.fromkeys(clear or ())
        | sent(
            title=title,
            description=description,
            completed=completed,
            priority=priority,
            due_date=due_date,
            due_at=due_at,
            tags=tags,
            recurrence=recurrence,
            recurrence_interval=recurrence_interval,
        )
    )
    data = tasks.TaskPatch.model_validate(changes)
    task = await tasks.update_task(
        caller.store,
        shared.row,
        data.changes(),
        max_tasks=caller.settings.max_tasks_per_user,
        may_leave_list=shared.owned,
    )
    return change(task, "updated")


async def search_tasks(
    ctx: Context,
    q: Annotated[
        tasks.SearchText | None,
        Field(description="Text to find in titles and descriptions (ignoring case)."),
    ] = None,
    status: Annotated[
        tasks.StatusFilter | None,
        Field(description="`all` (the default), `pending` or `completed`."),
    ] = None,
    priority: Annotated[
        list[tasks.Priority] | None, Field(description="Tasks with any of these priorities.")
    ] = None,
    tag: Annotated[
        list[tasks.Tag] | None, Field(description="Tasks carrying all of these tags (any case).")
    ] = None,
    due_before: Annotated[
        tasks.IsoDay | None, Field(description="Due strictly before this day (YYYY-MM-DD).")
    ] = None,
    due_after: Annotated[
        tasks.IsoDay | None, Field(description="Due strictly after this day (YYYY-MM-DD).")
    ] = None,
    overdue: Annotated[
        bool | None,
        Field(description="true: pending and past due; false: everything else."),
    ] = None,
    sort: Annotated[
        tasks.TaskSort | None,
        Field(description="The order (a leading `-` reverses it); by default oldest first."),
    ] = None,
    limit: Annotated[int | None, Field(description="At most this many (default 100).")] = None,
    offset: Annotated[
        int | None, Field(description="Skip this many, to get the next page (next_offset).")
    ] = None,
    user_id: UserId = None,
) -> Annotated[CallToolResult, SearchResult]:
    """Find the user's tasks by text, status, priority, tags or due date, with every field
    of each task (description, priority, due date and time, tags, recurrence, overdue...).
    `total` counts all matches; `next_offset`, when set, fetches the next page."""
    caller = await owner(ctx, user_id)
    query = tasks.TaskListQuery.model_validate(
        sent(
            q=q,
            status=status,
            priority=priority,
            tag=tag,
            due_before=due_before,
            due_after=due_after,
            overdue=overdue,
            sort=sort,
            limit=limit,
        )
        | {"offset": offset or 0, "count": True}
    )
    page = await tasks.list_tasks(caller.db, caller.user_id, query)
    return result(
        {
            "tasks": orjson.loads(tasks.tasks_json(page.tasks)),
            "total": page.total,
            "next_offset": page.next_offset,
        }
    )


async def task_stats(
    ctx: Context, user_id: UserId = None
) -> Annotated[CallToolResult, tasks.TaskStats]:
    """Count the user's tasks: total, pending, completed, overdue and due today (UTC)."""
    caller = await owner(ctx, user_id)
    stats = await tasks.task_stats(caller.db, caller.user_id)
    return result(stats.model_dump())


_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, open_world_hint=False)
# Every tool, in the order clients list them, with its hints.
TOOLS: list[tuple[Callable[..., Any], ToolAnnotations]] = [
    (add_task, _WRITE),
    (list_tasks, _READ),
    (complete_task, _WRITE.model_copy(update={"idempotent_hint": True})),
    (delete_task, _WRITE.model_copy(update={"destructive_hint": True})),
    (update_task, _WRITE.model_copy(update={"destructive_hint": False})),
    (search_tasks, _READ),
    (task_stats, _READ),
    (organizing.list_lists, _READ),
    (organizing.create_list, _WRITE),
    (organizing.move_task, _WRITE.model_copy(update={"destructive_hint": False})),
]
