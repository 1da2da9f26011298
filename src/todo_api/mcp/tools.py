"""The task tools an AI assistant calls: each one what the matching REST route does.

Every tool acts for the caller the bearer token names (see `endpoint`), goes through the same
per-user rate limit, and calls the same task service functions as the REST routes, so the
rules, the task cap and everything the services do on a write are the same. A failure comes
back as an MCP tool error whose text is the `detail` the REST API answers with.
"""

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import (
    CallToolResult,
    ContentBlock,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict

from todo_api import __version__
from todo_api.deps import Caller
from todo_api.errors import Forbidden
from todo_api.schemas.fields import (
    Description,
    DueAt,
    Interval,
    IsoDay,
    SearchText,
    Tag,
    Tags,
    Title,
)
from todo_api.schemas.listing import StatusFilter, TaskListQuery, TaskSort
from todo_api.schemas.tasks import (
    Priority,
    Recurrence,
    TaskCreate,
    TaskPatch,
    TaskRead,
    TaskStats,
    tasks_json,
)
from todo_api.services import tasks as task_service

logger = logging.getLogger(__name__)

# Where `endpoint` leaves the verified caller in the request's scope state.
CALLER_STATE_KEY = "mcp_caller"
_Tool = TypeVar("_Tool", bound=Callable[..., Any])
# The listing a plain `list_tasks` returns: REST's largest page.
LIST_LIMIT = 1000


class TaskChange(TypedDict):
    """What a write did to one task."""

    task_id: int
    status: Literal["created", "completed", "updated", "deleted"]
    title: str


class TaskSummary(TypedDict):
    """A task in `list_tasks`."""

    id: int
    title: str
    completed: bool


class SearchResult(TypedDict):
    """A page of `search_tasks`."""

    tasks: list[TaskRead]
    total: int | None
    next_offset: int | None


UserId = Annotated[
    str | None,
    Field(
        description="Optional; only for clients that send one. Must be the signed-in user's id "
        "(whose tasks are used is decided by the access token, never by this argument)."
    ),
]
TaskId = Annotated[int, Field(description="The task's id, as list_tasks or search_tasks give it.")]
TitleArg = Annotated[Title, Field(description="What to do, in a few words (1-200 characters).")]
DescriptionArg = Annotated[
    Description | None, Field(description="Longer notes (up to 1000 characters).")
]
PriorityArg = Annotated[
    Priority | None, Field(description="How important the task is; `none` by default.")
]
DueDateArg = Annotated[
    IsoDay | None, Field(description="The day the task is due, YYYY-MM-DD (due all that day).")
]
DueAtArg = Annotated[
    DueAt | None,
    Field(
        description="The exact time the task is due, ISO 8601 with a UTC offset "
        "(2026-03-01T17:00:00+01:00); its UTC day becomes due_date."
    ),
]
TagsArg = Annotated[Tags | None, Field(description='Labels, e.g. ["work", "errands"].')]
RecurrenceArg = Annotated[
    Recurrence | None,
    Field(description="Repeat the task: completing it creates the next occurrence."),
]
IntervalArg = Annotated[
    Interval | None, Field(description="Every N days/weeks/months/years (with recurrence).")
]
Clearable = Literal["description", "priority", "due_date", "due_at", "tags", "recurrence"]


def _request(ctx: Context) -> Request:
    request = ctx.request_context.request
    if not isinstance(request, Request):
        raise RuntimeError("MCP tool called outside an HTTP request")
    return request


def caller_of(ctx: Context) -> Caller:
    """The verified caller of this MCP request (put there by `endpoint`)."""
    caller = _request(ctx).scope.get("state", {}).get(CALLER_STATE_KEY)
    if not isinstance(caller, Caller):
        raise RuntimeError("MCP tool called without an authenticated caller")
    return caller


async def _owner(ctx: Context, user_id: str | None) -> Caller:
    """The caller, if `user_id` (when sent) is theirs, within their per-user rate limit: what
    REST's owner check does for the path's user id."""
    caller = caller_of(ctx)
    if user_id is not None and user_id != caller.user_id:
        raise Forbidden()
    await _request(ctx).app.state.rate_limiter.check_user(caller.user_id)
    return caller


def _sent(**fields: Any) -> dict[str, Any]:
    """The arguments the client gave (an argument left out arrives as None)."""
    return {name: value for name, value in fields.items() if value is not None}


def _result(value: Mapping[str, Any] | list[Any]) -> CallToolResult:
    """A tool result: the value as JSON text (what most agents read) and as structured content
    (an object: a list is wrapped in `result`, as the SDK wraps list results)."""
    text = orjson.dumps(value).decode()
    structured = dict(value) if isinstance(value, Mapping) else {"result": value}
    return CallToolResult(content=[_text(text)], structured_content=structured)


def _text(text: str) -> ContentBlock:
    return TextContent(type="text", text=text)


def _change(task: Mapping[str, Any], status: str) -> CallToolResult:
    return _result({"task_id": task["id"], "status": status, "title": task["title"]})


class TaskServer(MCPServer[Any]):
    """The SDK's MCPServer, with tool failures answered as the REST API answers them."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:  # the SDK wraps whatever a tool raises in one
            if context is None or not isinstance(context.request_context.request, Request):
                raise
            return await _error_result(context.request_context.request, error)


async def _error_result(request: Request, error: ToolError) -> CallToolResult:
    """The tool error for a failed call: the `detail` the app's exception handler gives the same
    failure on a REST route (a validation error as a 422 would list it)."""
    cause = error.__cause__
    if cause is None:  # the SDK's own, e.g. an unknown tool
        detail: Any = str(error)
    else:
        if isinstance(cause, ValidationError):
            cause = RequestValidationError(
                [
                    problem | {"loc": ("arguments", *problem["loc"])}
                    for problem in cause.errors(include_url=False)
                ]
            )
        response = await _handled(request, cause)
        detail = orjson.loads(response.body)["detail"]
    text = detail if isinstance(detail, str) else orjson.dumps(detail).decode()
    return CallToolResult(
        content=[_text(text)],
        structured_content={"detail": detail},
        is_error=True,
    )


async def _handled(request: Request, exc: BaseException) -> Response:
    """What the app's exception handlers answer `exc` with, found as Starlette finds them
    (by status code for an HTTPException, else by class); an unexpected error is logged with
    its traceback and answered as the request middleware answers it on REST: a bare 500."""
    handlers = request.app.exception_handlers
    handler = None
    if isinstance(exc, HTTPException):
        handler = handlers.get(exc.status_code)
    if handler is None:
        handler = next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
    if handler is None:
        logger.error(
            "Unhandled error in an MCP tool call (request id %s)",
            request.scope.get("state", {}).get("request_id"),
            exc_info=exc,
        )
        return JSONResponse({"detail": "Internal server error"}, status_code=500)
    response = handler(request, exc)
    if inspect.isawaitable(response):
        response = await response
    assert isinstance(response, Response)
    return response


@functools.cache
def build_server(opentelemetry: bool = False) -> TaskServer:
    """The MCP server with the task tools (it serves nothing until `endpoint` runs it).

    One per process (and setting): it holds no state of its own (each app runs its own session
    manager on it), and making the tools' models takes a while. Without `opentelemetry` the
    SDK's span per message is left out, as the app leaves out FastAPI's (it cost a fifth of a
    tool call's CPU, measured in-process).
    """
    server = TaskServer(
        name="todo-api",
        title="Todo API",
        version=__version__,
        instructions="The signed-in user's todo list. Use list_tasks to see tasks and their "
        "ids, search_tasks to find tasks by text or filter them, then add_task, update_task, "
        "complete_task and delete_task to change them; task_stats counts them.",
        # The SDK would otherwise set up the root logger at INFO; the service configures its own.
        log_level="WARNING",
    )
    if not opentelemetry:
        # The SDK's documented opt-out: drop its middleware from the list.
        server.middleware[:] = [
            layer for layer in server.middleware if not isinstance(layer, OpenTelemetryMiddleware)
        ]
    _add_tools(server)
    return server


_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, open_world_hint=False)


def _add_tools(server: TaskServer) -> None:
    def tool(annotations: ToolAnnotations) -> Callable[[_Tool], _Tool]:
        """Register a tool, its docstring (dedented) for its description."""

        def register(fn: _Tool) -> _Tool:
            description = inspect.cleandoc(fn.__doc__ or "")
            server.add_tool(fn, description=description, annotations=annotations)
            return fn

        return register

    @tool(_WRITE)
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
        user_id: UserId = None,
    ) -> Annotated[CallToolResult, TaskChange]:
        """Add a task to the user's todo list. Only `title` is needed; returns the new task's id
        (`task_id`), `status: "created"` and its title."""
        caller = await _owner(ctx, user_id)
        data = TaskCreate.model_validate(
            _sent(
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
        task = await task_service.create_task(
            caller.db,
            caller.user,
            data,
            caller.known_users,
            max_tasks=caller.settings.max_tasks_per_user,
        )
        return _change(task, "created")

    @tool(_READ)
    async def list_tasks(
        ctx: Context,
        status: Annotated[
            StatusFilter,
            Field(description="`all` (the default), `pending` (not done yet) or `completed`."),
        ] = StatusFilter.all,
        user_id: UserId = None,
    ) -> Annotated[CallToolResult, list[TaskSummary]]:
        """List the user's tasks, oldest first (up to 1000): each with its `id`, `title` and
        whether it is `completed`. To filter by text, priority, tag or due date, or to see every
        field of a task, use search_tasks."""
        caller = await _owner(ctx, user_id)
        query = TaskListQuery.model_validate({"status": status, "limit": LIST_LIMIT})
        page = await task_service.list_tasks(caller.db, caller.user_id, query)
        return _result(
            [
                {"id": task["id"], "title": task["title"], "completed": task["completed"]}
                for task in page.tasks
            ]
        )

    @tool(_WRITE.model_copy(update={"idempotent_hint": True}))
    async def complete_task(
        ctx: Context, task_id: TaskId, user_id: UserId = None
    ) -> Annotated[CallToolResult, TaskChange]:
        """Mark a task as done (a task done already stays done). A recurring task gets its next
        occurrence. To reopen a task, use update_task with `completed: false`."""
        caller = await _owner(ctx, user_id)
        task = await task_service.get_task(caller.db, caller.user_id, task_id)
        if not task["completed"]:
            task = await task_service.update_task(
                caller.db, task, {"completed": True}, max_tasks=caller.settings.max_tasks_per_user
            )
        return _change(task, "completed")

    @tool(_WRITE.model_copy(update={"destructive_hint": True}))
    async def delete_task(
        ctx: Context, task_id: TaskId, user_id: UserId = None
    ) -> Annotated[CallToolResult, TaskChange]:
        """Delete a task for good. Returns the deleted task's id and title."""
        caller = await _owner(ctx, user_id)
        task = await task_service.get_task(caller.db, caller.user_id, task_id)
        await task_service.delete_task(caller.db, task)
        return _change(task, "deleted")

    @tool(_WRITE.model_copy(update={"destructive_hint": False}))
    async def update_task(
        ctx: Context,
        task_id: TaskId,
        title: Annotated[Title | None, Field(description="A new title.")] = None,
        description: DescriptionArg = None,
        completed: Annotated[
            bool | None, Field(description="true marks it done, false reopens it.")
        ] = None,
        priority: PriorityArg = None,
        due_date: DueDateArg = None,
        due_at: DueAtArg = None,
        tags: Annotated[Tags | None, Field(description="The new labels (all of them).")] = None,
        recurrence: RecurrenceArg = None,
        recurrence_interval: IntervalArg = None,
        clear: Annotated[
            list[Clearable] | None,
            Field(description='Fields to empty, e.g. ["due_date"] to remove the due date.'),
        ] = None,
        user_id: UserId = None,
    ) -> Annotated[CallToolResult, TaskChange]:
        """Change a task: only the fields given change, the others keep their values. Returns
        the task's id, `status: "updated"` and its (new) title."""
        caller = await _owner(ctx, user_id)
        task = await task_service.get_task(caller.db, caller.user_id, task_id)
        changes = dict.fromkeys(clear or ()) | _sent(
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
        data = TaskPatch.model_validate(changes)
        task = await task_service.update_task(
            caller.db, task, data.changes(), max_tasks=caller.settings.max_tasks_per_user
        )
        return _change(task, "updated")

    @tool(_READ)
    async def search_tasks(
        ctx: Context,
        q: Annotated[
            SearchText | None,
            Field(description="Text to find in titles and descriptions (ignoring case)."),
        ] = None,
        status: Annotated[
            StatusFilter | None, Field(description="`all` (the default), `pending` or `completed`.")
        ] = None,
        priority: Annotated[
            list[Priority] | None, Field(description="Tasks with any of these priorities.")
        ] = None,
        tag: Annotated[
            list[Tag] | None, Field(description="Tasks carrying all of these tags (any case).")
        ] = None,
        due_before: Annotated[
            IsoDay | None, Field(description="Due strictly before this day (YYYY-MM-DD).")
        ] = None,
        due_after: Annotated[
            IsoDay | None, Field(description="Due strictly after this day (YYYY-MM-DD).")
        ] = None,
        overdue: Annotated[
            bool | None,
            Field(description="true: pending and past due; false: everything else."),
        ] = None,
        sort: Annotated[
            TaskSort | None,
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
        caller = await _owner(ctx, user_id)
        query = TaskListQuery.model_validate(
            _sent(
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
        page = await task_service.list_tasks(caller.db, caller.user_id, query)
        return _result(
            {
                "tasks": orjson.loads(tasks_json(page.tasks)),
                "total": page.total,
                "next_offset": page.next_offset,
            }
        )

    @tool(_READ)
    async def task_stats(
        ctx: Context, user_id: UserId = None
    ) -> Annotated[CallToolResult, TaskStats]:
        """Count the user's tasks: total, pending, completed, overdue and due today (UTC)."""
        caller = await _owner(ctx, user_id)
        stats = await task_service.task_stats(caller.db, caller.user_id)
        return _result(stats.model_dump())
