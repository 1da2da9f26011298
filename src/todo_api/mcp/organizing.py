"""The tools that organize tasks: the user's lists, and moving a task (into a list, under
another task, or to a spot among its siblings). Each does what its REST route does."""

from typing import Annotated

import orjson
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from todo_api import tasks
from todo_api.accounts import Caller
from todo_api.mcp.arguments import ListArg, TaskId, UserId
from todo_api.mcp.calls import TaskChange, change, owner, result, sent

ListName = Annotated[tasks.ListName, Field(description="The list's name (1-100 characters).")]
OtherTask = Annotated[
    int | None, Field(description="A task id (as list_tasks or search_tasks give it).")
]


async def list_id_of(caller: Caller, ref: int | str) -> int | None:
    """The id of the caller's list `ref` names (by id or name); None for the Inbox."""
    row = await tasks.find_list(caller.db, caller.user_id, ref)
    return None if row is None else row["id"]


def _shown(row: tasks.ListRow) -> dict[str, object]:
    view: dict[str, object] = orjson.loads(tasks.ListRead.of(row).model_dump_json())
    return view


async def list_lists(
    ctx: Context, user_id: UserId = None
) -> Annotated[CallToolResult, list[tasks.ListRead]]:
    """The user's lists, in their order, each with its `id`, `name`, `color` and how many
    tasks it holds. Tasks in no list are in the Inbox."""
    caller = await owner(ctx, user_id)
    return result([_shown(row) for row in await tasks.lists_of(caller.db, caller.user_id)])


async def create_list(
    ctx: Context,
    name: ListName,
    color: Annotated[
        str | None,
        Field(
            description="A color: red, orange, yellow, green, teal, blue, "
            "purple, pink, brown, grey, or #rrggbb."
        ),
    ] = None,
    user_id: UserId = None,
) -> Annotated[CallToolResult, tasks.ListRead]:
    """Make a new list (it goes last); returns it, with its `id`."""
    caller = await owner(ctx, user_id)
    data = tasks.ListCreate.model_validate(sent(name=name, color=color))
    row = await tasks.create_list(
        caller.store,
        caller.user,
        data,
        caller.known_users,
        max_lists=caller.settings.max_lists_per_user,
    )
    return result(_shown(row))


async def move_task(
    ctx: Context,
    task_id: TaskId,
    list: ListArg = None,
    parent_id: Annotated[
        int | None, Field(description="Make it a subtask of this task (in that task's list).")
    ] = None,
    top_level: Annotated[
        bool, Field(description="true: out from under its parent, to the top of its list.")
    ] = False,
    after_id: Annotated[OtherTask, Field(description="Put it right after this task.")] = None,
    before_id: Annotated[OtherTask, Field(description="Put it right before this task.")] = None,
    user_id: UserId = None,
) -> Annotated[CallToolResult, TaskChange]:
    """Move a task, with its subtasks: into another `list`, under another task
    (`parent_id`), out from under its parent (`top_level`), and right after or before one of
    its new siblings; with neither `after_id` nor `before_id` it goes first."""
    caller = await owner(ctx, user_id)
    shared = await tasks.writable_task(caller.db, caller.user_id, task_id)
    fields = sent(parent_id=parent_id, after_id=after_id, before_id=before_id)
    if list is not None:
        fields["list_id"] = await list_id_of(caller, list)
    if top_level:
        fields["parent_id"] = None
    move = tasks.TaskMove.model_validate(fields)
    moved = await tasks.move_task(caller.store, shared.row, move, may_leave_list=shared.owned)
    return change(moved, "moved")
