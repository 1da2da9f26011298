"""`/mcp` over HTTP: the bearer token checked as the REST API checks it, then the SDK's
streamable HTTP transport, stateless, and the RFC 9728 metadata naming where tokens come from.

Stateless: every request carries its token and is answered on its own (JSON, no SSE stream, no
`Mcp-Session-Id`), so any worker or replica can answer any request.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from todo_api.accounts import AuthError, Caller, authenticate, missing_token_detail
from todo_api.core.config import Settings
from todo_api.core.state import SettingsDep, app_state
from todo_api.mcp.calls import CALLER_STATE_KEY
from todo_api.mcp.server import TaskServer

MCP_PATH = "/mcp"
RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class McpEndpoint:
    """The ASGI app at `/mcp`: a caller without a valid bearer token gets a 401 that points at
    the resource metadata; a verified one reaches the tools, as `Caller`, in the scope state."""

    def __init__(self, server: TaskServer) -> None:
        self.server = server
        self._sessions: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve requests while this is entered (in the app's lifespan)."""
        # A session manager runs once: each start of the app gets its own.
        self.server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            # The SDK's DNS-rebinding check would only let localhost Host headers through.
            # It protects servers without authentication; this one needs a bearer token,
            # which a rebinding page does not have, and browsers get the app's CORS policy.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        sessions = self.server.session_manager
        async with sessions.run():
            self._sessions = sessions
            try:
                yield
            finally:
                self._sessions = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method != "POST":
            # Stateless: no session to end (DELETE) and no stream of server messages (GET),
            # which would only hold a connection open; MCP's answer for those is a 405.
            response = JSONResponse({"detail": "Method Not Allowed"}, 405, {"Allow": "POST"})
            await response(scope, receive, send)
            return
        state = app_state(request.app)
        origin = request.headers.get("origin")
        if origin is not None and origin not in state.get(Settings).cors_origins:
            # MCP asks servers to check Origin (DNS rebinding); browsers may come from the
            # origins the REST API allows them from.
            response = JSONResponse({"detail": "This origin may not use the MCP endpoint"}, 403)
            await response(scope, receive, send)
            return
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer" or not token:
            detail = missing_token_detail(request.headers.get("authorization"))
            await _unauthorized(request, detail or "Not authenticated")(scope, receive, send)
            return
        try:
            principal = await authenticate(state, token)
        except AuthError as error:
            await _unauthorized(request, str(error), invalid=True)(scope, receive, send)
            return
        caller = Caller.of(state, principal)
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        if self._sessions is None:
            raise RuntimeError("The MCP endpoint is not running (the app's lifespan starts it)")
        await self._sessions.handle_request(scope, receive, PlainProtocolErrors(send))


class PlainProtocolErrors:
    """`send` for the SDK's answers, where a request that is not JSON-RPC at all gets a
    message of fixed words: the SDK's own quotes its parser's and pydantic's reports (model
    names, the input, links to pydantic's documentation)."""

    MESSAGES: ClassVar[dict[int, str]] = {
        -32700: "Parse error: the body is not JSON",
        -32602: "Invalid request: the body is not a JSON-RPC 2.0 request or notification",
    }

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 400:
            self._start = message  # held until the body shows what it says
            return
        if self._start is None or message["type"] != "http.response.body":
            await self._send(message)
            return
        self._body += message.get("body", b"")
        if message.get("more_body", False):
            return
        body = self._plain(bytes(self._body))
        headers = [(k, v) for k, v in self._start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})

    def _plain(self, body: bytes) -> bytes:
        try:
            answer = json.loads(body)
            code = answer["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return body
        if code in self.MESSAGES and answer.get("id") is None:
            answer["error"]["message"] = self.MESSAGES[code]
            answer["error"].pop("data", None)
            return json.dumps(answer).encode()
        return body


def route(endpoint: McpEndpoint) -> Route:
    """The `/mcp` route (for every method: the endpoint answers 405 to all but POST)."""
    return Route(MCP_PATH, endpoint, include_in_schema=False)


def _unauthorized(request: Request, detail: str, *, invalid: bool = False) -> JSONResponse:
    """401 with the RFC 9728 pointer MCP clients follow to find the authorization server."""
    challenge = f'Bearer resource_metadata="{_base_url(request)}{RESOURCE_METADATA_PATH}"'
    if invalid:  # RFC 6750: a token was sent and is no good (the details are fixed texts)
        challenge += f', error="invalid_token", error_description="{detail}"'
    return JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": challenge})


# The metadata is served at the root (for the whole service: REST and MCP take the same tokens)
# and, as RFC 9728 inserts the path of a resource, for `/mcp` itself. Neither is part of the
# REST API, so neither is in its OpenAPI document.
router = APIRouter(include_in_schema=False)


@router.get(RESOURCE_METADATA_PATH)
async def service_metadata(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """RFC 9728 protected resource metadata for the service."""
    return _metadata(_base_url(request), settings.better_auth_url, settings.accounts_enabled)


@router.get(RESOURCE_METADATA_PATH + MCP_PATH)
async def mcp_metadata(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """RFC 9728 protected resource metadata for `/mcp`."""
    base = _base_url(request)
    metadata = _metadata(base, settings.better_auth_url, settings.accounts_enabled)
    return metadata | {"resource": base + MCP_PATH}


def _metadata(base: str, better_auth_url: str | None, own_accounts: bool) -> dict[str, Any]:
    servers = [better_auth_url.rstrip("/")] if better_auth_url else []
    if own_accounts:  # tokens from /api/auth/sign-in
        servers.append(base)
    metadata: dict[str, Any] = {
        "resource": base,
        "resource_name": "Todo API",
        "bearer_methods_supported": ["header"],
    }
    if servers:
        metadata["authorization_servers"] = servers
    return metadata
