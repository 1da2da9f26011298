"""MCP fixtures: the app served by uvicorn on a free port, and the official `mcp` client on it.

The server is real (uvicorn, real sockets, the app's own lifespan), in this process so that a
test can set it up with any settings; the client is the SDK's streamable HTTP client.
"""

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from todo_api.core.config import Settings
from todo_api.main import create_app

Serve = Callable[..., str]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (in a thread) until the block ends; its URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def serve(make_settings: Callable[..., Settings]) -> Iterator[Serve]:
    """Start the app with these setting overrides; its base URL. Stopped after the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> str:
            return stack.enter_context(serving(create_app(make_settings(**overrides))))

        yield start


@pytest.fixture
def base_url(serve: Serve) -> str:
    """The app with the test settings, served."""
    return serve()


@asynccontextmanager
async def connect(
    base_url: str, token: str | None, *, mode: str = "auto", **client: Any
) -> AsyncIterator[Client]:
    """The official MCP client on `base_url`/mcp, sending `token` as a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30, **client) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http), mode=mode) as session,
    ):
        yield session


def result_of(result: CallToolResult) -> Any:
    """A successful tool result's JSON (its text, and its structured content agrees)."""
    assert not result.is_error, result.content
    assert len(result.content) == 1
    value = json.loads(result.content[0].text)  # type: ignore[union-attr]
    structured = result.structured_content
    assert structured == (value if isinstance(value, dict) else {"result": value})
    return value


def error_of(result: CallToolResult) -> Any:
    """A failed tool call's `detail` (its text, and the structured `detail`)."""
    assert result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    detail = result.structured_content["detail"]
    assert (text if isinstance(detail, str) else json.loads(text)) == detail
    return detail


async def call(session: Client, tool: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its result's JSON."""
    return result_of(await session.call_tool(tool, arguments))


async def fail(session: Client, tool: str, **arguments: Any) -> Any:
    """Call a tool that must fail; the error's `detail`."""
    return error_of(await session.call_tool(tool, arguments))
