"""The MCP server: the SDK's `MCPServer` with the task tools, answering a tool's failure as the
REST API answers the same failure."""

import functools
import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.inbound import x_mcp_header_map
from mcp.types import CallToolResult, InputRequiredResult, TextContent
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from todo_api import __version__
from todo_api.mcp.tools import TOOLS

logger = logging.getLogger(__name__)


class TaskServer(MCPServer[Any]):
    """The SDK's MCPServer, with tool failures answered as the REST API answers them."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._header_schemas: dict[str, tuple[dict[str, Any], bool]] = {}

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """The schema the transport checks a call's `Mcp-Param-*` headers against: None (there
        is nothing to check) for a tool none of whose arguments declares a header, as none of
        the task tools does. Given a schema, the transport walks all of it, twice, on every
        call, to find the declarations; the answer only changes with the tool."""
        schema = super()._tool_input_schema(name)
        if schema is None:
            return None
        known = self._header_schemas.get(name)
        if known is None or known[0] is not schema:
            known = (schema, bool(x_mcp_header_map(schema)))
            self._header_schemas[name] = known
        return schema if known[1] else None

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
        content=[TextContent(type="text", text=text)],
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


@contextmanager
def _logging_left_alone() -> Iterator[None]:
    """The SDK's server calls `logging.basicConfig` with a handler of its own (rich's, when
    rich is installed) when it is made; the service configures logging itself (core/logs.py):
    while a handler is on the root logger, basicConfig leaves it as it is."""
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        yield
    finally:
        root.removeHandler(placeholder)


@functools.cache
def build_server(opentelemetry: bool = False) -> TaskServer:
    """The MCP server with the task tools (it serves nothing until `endpoint` runs it).

    One per process (and setting): it holds no state of its own (each app runs its own session
    manager on it), and making the tools' models takes a while. Without `opentelemetry` the
    SDK's span per message is left out, as the app leaves out FastAPI's: a span per call costs
    more than most tools' own work.
    """
    with _logging_left_alone():
        server = TaskServer(
            name="todo-api",
            title="Todo API",
            version=__version__,
            instructions="The signed-in user's todo list. Use list_tasks to see tasks and their "
            "ids, search_tasks to find tasks by text or filter them, then add_task, update_task, "
            "complete_task and delete_task to change them; task_stats counts them.",
            log_level="WARNING",
        )
    if not opentelemetry:
        # The SDK's documented opt-out: drop its middleware from the list.
        server.middleware[:] = [
            layer for layer in server.middleware if not isinstance(layer, OpenTelemetryMiddleware)
        ]
    for tool, annotations in TOOLS:
        # Its docstring, dedented, is its description.
        description = inspect.cleandoc(tool.__doc__ or "")
        server.add_tool(tool, description=description, annotations=annotations)
    return server
