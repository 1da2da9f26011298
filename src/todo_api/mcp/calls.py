"""What every tool call shares: the caller (and the owner check and rate limit REST applies),
the arguments a client sent, and the result as MCP carries it."""

from collections.abc import Mapping
from typing import Any, Literal

import orjson
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ContentBlock, TextContent
from starlette.requests import Request
from typing_extensions import TypedDict

from todo_api.accounts import Caller, within_rate_limit
from todo_api.core.errors import Forbidden
from todo_api.core.state import app_state

# Where `endpoint` leaves the verified caller in the request's scope state.
CALLER_STATE_KEY = "mcp_caller"


class TaskChange(TypedDict):
    """What a write did to one task."""

    task_id: int
    status: Literal["created", "completed", "updated", "deleted", "moved"]
    title: str


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


async def owner(ctx: Context, user_id: str | None) -> Caller:
    """The caller, if `user_id` (when sent) is theirs, within their per-user rate limit: what
    REST's owner check does for the path's user id."""
    caller = caller_of(ctx)
    if user_id is not None and user_id != caller.user_id:
        raise Forbidden()
    await within_rate_limit(app_state(_request(ctx).app), caller.user_id)
    return caller


def sent(**fields: Any) -> dict[str, Any]:
    """The arguments the client gave (an argument left out arrives as None)."""
    return {name: value for name, value in fields.items() if value is not None}


def result(value: Mapping[str, Any] | list[Any]) -> CallToolResult:
    """A tool result: the value as JSON text (what most agents read) and as structured content
    (an object: a list is wrapped in `result`, as the SDK wraps list results)."""
    text = orjson.dumps(value).decode()
    structured = dict(value) if isinstance(value, Mapping) else {"result": value}
    return CallToolResult(content=[_text(text)], structured_content=structured)


def _text(text: str) -> ContentBlock:
    return TextContent(type="text", text=text)


def change(task: Mapping[str, Any], status: str) -> CallToolResult:
    """The result of a write to one task."""
    return result({"task_id": task["id"], "status": status, "title": task["title"]})
