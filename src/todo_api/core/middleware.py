"""Pure ASGI middleware: request ids, the access log, security headers, CORS, body size, IP limit.

They run on every request, so each does the least it can: no Request objects, no body copies,
a closure or two at most (BaseHTTPMiddleware would cost a task and a queue per request).
"""

import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.core.logs import log_access
from todo_api.core.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-request-id"
# A client's id is kept only if it cannot forge log lines or carry a payload.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@+=/-]{1,128}")
# Generated ids: a random prefix per process and a counter, unique across workers and replicas
# at a fraction of uuid4's cost.
_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)


def new_request_id() -> bytes:
    """A fresh request id, unique across processes."""
    return f"{_ID_PREFIX}-{next(_id_counter):x}".encode()


Headers = list[tuple[bytes, bytes]]

# Every response: nothing to sniff, frame, refer or cache.
_COMMON_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# JSON responses load nothing at all.
_API_HEADERS: Headers = [
    *_COMMON_HEADERS,
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
# The docs pages run Swagger UI / ReDoc from /static/docs plus their inline bootstrap script.
_DOCS_HEADERS: Headers = [
    *_COMMON_HEADERS,
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
        b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        b"frame-ancestors 'none'",
    ),
    (b"cache-control", b"no-store"),
]
# Static assets are immutable per release: let browsers keep them.
_STATIC_HEADERS: Headers = [*_COMMON_HEADERS, (b"cache-control", b"public, max-age=86400")]

# A response to a request without `Origin` says that one with it could be answered otherwise.
_VARY_ORIGIN = (b"vary", b"Origin")


def _pick_headers(path: str, docs_paths: frozenset[str]) -> Headers:
    if path.startswith("/static/"):
        return _STATIC_HEADERS
    if path in docs_paths:
        return _DOCS_HEADERS
    return _API_HEADERS


class RequestContextMiddleware:
    """Request id (the client's if sane, else new; echoed back), security headers, CORS, access
    log, the answer to an unhandled error, and paths without a trailing slash.

    The access line has method, path (never the query string, which may carry secrets), status,
    duration and request id; no header or body content is ever logged.

    A request with an `Origin` header goes through Starlette's CORS middleware (`cors` holds
    its options). One without (a server, a script, a native app) has nothing to allow or
    refuse, yet Starlette's would parse its headers and rewrite the response's only to add
    `Vary: Origin`: here that is one more header among those added anyway, and no layer.
    """

    def __init__(
        self, app: ASGIApp, *, cors: Mapping[str, Any], docs_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **cors)
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        if path.endswith("/") and path != "/":
            # `/tasks/` is served as `/tasks` itself: Starlette's 307 to it would cost a browser
            # another round trip and, cross-origin, another preflight.
            scope = dict(scope, path=path.rstrip("/") or "/")
        request_id = origin = None
        for key, value in scope["headers"]:
            if key == REQUEST_ID_HEADER and request_id is None:  # the first, as Headers reads
                request_id = value
            elif key == b"origin":
                origin = value
        if request_id is None or not _SANE_REQUEST_ID.fullmatch(request_id):
            request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        extra = [*_pick_headers(scope["path"], self.docs_paths), (REQUEST_ID_HEADER, request_id)]
        if origin is None:
            app = self.app
            extra.append(_VARY_ORIGIN)
        else:
            app = self.cors
        status = 0  # until the app starts its answer

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        except Exception as error:
            # Answered here rather than by Starlette's outermost handler, so that a 500 carries
            # the request id and the security headers like every other response.
            logger.error(
                "Unhandled error on %s %s (request id %s)",
                scope["method"],
                scope["path"],
                request_id.decode(),
                exc_info=error,
            )
            if status:  # the answer had begun: all the server can do is cut it off
                raise
            await send_error(send_with_headers, 500, "Internal server error")
        finally:
            client = scope.get("client")
            log_access(
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                request_id.decode(),
                client[0] if client else None,
            )


async def send_error(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with `{"detail": …}` straight from middleware."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """The request body went over the configured size while it was being read."""


class BodySizeLimitMiddleware:
    """413 for bodies over `max_bytes`, before anything parses them.

    A declared Content-Length is checked up front; a chunked body is counted as it streams in,
    and reading stops at the first chunk past the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"Request body too large: at most {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = chunked = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = value
        if length is not None:
            # The server enforces the declared length, and rejects malformed ones itself.
            if length.isdigit() and int(length) > self.max_bytes:
                await send_error(send, 413, self.detail, [(b"connection", b"close")])
                return
            await self.app(scope, receive, send)
            return
        if chunked is None:
            # HTTP/1.1: with neither header there is no body at all.
            await self.app(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(413, self.detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # FastAPI answers it itself while parsing; this catches readers outside a route.
            if started:
                raise
            await send_error(send, 413, self.detail, [(b"connection", b"close")])


class IpRateLimitMiddleware:
    """429 with Retry-After once one client address goes over its limit (health checks exempt)."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.exempt:
            client = scope.get("client")
            retry_after = await self.limiter.hit_ip(client[0] if client else "unknown")
            if retry_after is not None:
                await send_error(
                    send,
                    429,
                    f"Too many requests from this address; retry in {retry_after} s",
                    [(b"retry-after", str(retry_after).encode())],
                )
                return
        await self.app(scope, receive, send)


class HeadMiddleware:
    """HEAD wherever GET is served: the request runs as a GET and only its headers are sent.

    FastAPI routes just the methods a route declares (Starlette's own routes add HEAD to GET);
    doing it here keeps HEAD out of the OpenAPI document, where every GET would double.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
