"""The FastAPI application: `todo_api.main:app` for uvicorn, `create_app()` for tests."""

import gc
import logging
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount, Route, compile_path
from starlette.types import Scope

from todo_api import __version__
from todo_api.auth import create_verifier
from todo_api.broker import ChangeBroker
from todo_api.config import Settings, get_settings
from todo_api.db import head_revision, open_database
from todo_api.errors import ApiError, api_error_handler
from todo_api.horizon import ChangeHorizon
from todo_api.jobs import BackgroundJobs
from todo_api.mcp import endpoint as mcp_endpoint
from todo_api.mcp.tools import build_server
from todo_api.middleware import (
    BodySizeLimitMiddleware,
    HeadMiddleware,
    IpRateLimitMiddleware,
    OriginCORSMiddleware,
    RequestContextMiddleware,
)
from todo_api.openapi import customise
from todo_api.ratelimit import RateLimiter
from todo_api.routes import auth, changes, events, health, tags, tasks, webhooks
from todo_api.routes.responses import API_ERRORS, TOO_MANY_REQUESTS
from todo_api.schemas.messages import Message
from todo_api.services.throttle import LoginThrottle
from todo_api.services.tickets import TicketSigner
from todo_api.services.users import KnownUsers

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect (and migrate) on startup; release the pool on shutdown."""
    settings: Settings = app.state.settings
    app.state.schema_head = head_revision()
    db = await open_database(settings, migrate=settings.run_migrations_on_startup)
    app.state.db = db
    db.log_changes = settings.changes_enabled
    http = httpx.AsyncClient(timeout=settings.jwks_timeout_seconds, follow_redirects=True)
    app.state.verifier = create_verifier(settings, http)
    app.state.known_users = KnownUsers()
    app.state.login_throttle = LoginThrottle(settings)
    shared_secret = app.state.verifier.shared_secret
    app.state.tickets = TicketSigner(
        shared_secret.secret if shared_secret is not None else settings.jwt_secret()
    )
    listen_url = None
    if db.dialect_name == "postgresql":
        listen_url = settings.database_direct_url or settings.effective_database_url
    app.state.horizon = horizon = ChangeHorizon(db)
    broker = ChangeBroker(
        db, horizon, listen_url=listen_url, heartbeat=settings.events_heartbeat_seconds
    )
    await broker.start()
    broker.end_streams_on_exit_signals()
    app.state.broker = broker
    horizon.start()
    app.state.jobs = jobs = BackgroundJobs(db, settings, horizon)
    if settings.background_jobs:
        jobs.start()
    # Everything loaded so far lives as long as the process: keep the collector from walking
    # it again and again (a full collection over it stalls requests).
    gc.collect()
    gc.freeze()
    try:
        async with app.state.mcp.running():
            yield
    finally:
        await jobs.stop()
        await horizon.stop()
        await broker.close()
        await app.state.verifier.close()
        await http.aclose()
        await db.close()


# Fields whose value a 422 never echoes back, wherever they appear in the body.
SECRET_FIELDS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
    }
)
# How deep a 422 echoes an input: deeper structures are replaced by "…". Rendering is bounded
# by this, not by the nesting a client chose (a 1 KB body can nest 500 levels deep).
MAX_ECHO_DEPTH = 4
_ELIDED = "…"


def _echo(value: Any, depth: int = 0) -> Any:
    """`value` as a 422 may show it: secrets left out, depth bounded, and what UTF-8 JSON cannot
    write given as text (NaN and infinities, bytes, lone surrogates such as `"\\ud800"`)."""
    if isinstance(value, str):
        return value.encode(errors="replace").decode()
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return _ELIDED
    if isinstance(value, dict):
        return {
            str(key): _echo(item, depth + 1)
            for key, item in value.items()
            if str(key).lower() not in SECRET_FIELDS
        }
    if isinstance(value, list | tuple):
        return [_echo(item, depth + 1) for item in value]
    return jsonable_encoder(value)


def _shown_error(error: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    shown: dict[str, Any] = {
        "type": error.get("type"),
        "loc": [_echo(part) for part in loc],
        "msg": error.get("msg"),
    }
    if "input" in error and not any(str(part).lower() in SECRET_FIELDS for part in loc):
        shown["input"] = _echo(error["input"])
    if "ctx" in error:
        shown["ctx"] = {str(k): _echo(v, MAX_ECHO_DEPTH - 1) for k, v in error["ctx"].items()}
    return shown


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own 422, with each error's `input` made safe to echo: never a password (a
    # missing field's input is the whole body), never deeper than MAX_ECHO_DEPTH, and only what
    # UTF-8 JSON can carry (Python's decoder accepts NaN, Infinity and lone surrogates).
    assert isinstance(exc, RequestValidationError)
    errors = [_shown_error(error) for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


STATIC_DOCS_URL = "/static/docs"
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
HEALTH_PATHS = ("/health", "/ready")


def _path_pattern(template: str, operations: dict[str, Any]) -> re.Pattern[str]:
    # Integer path parameters are routed with Starlette's `:int` convertor (digits only).
    for operation in operations.values():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                name = parameter["name"]
                template = template.replace(f"{{{name}}}", f"{{{name}:int}}")
    return compile_path(template)[0]


def allowed_methods(app: FastAPI, scope: Scope) -> set[str]:
    """The methods the app serves on the scope's path (HEAD wherever GET is): those the OpenAPI
    document declares for it, and those of the routes it leaves out (docs pages, static files)."""
    path = scope["path"]
    methods = {
        method.upper()
        for template, operations in app.openapi()["paths"].items()
        if _path_pattern(template, operations).fullmatch(path)
        for method in operations
    }
    # The router has made `scope` the matched route's (a mount's root_path): start afresh.
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    probe = {"type": "http", "method": "GET", "path": path, "root_path": root_path}
    for route in app.routes:
        if isinstance(route, Route | Mount) and route.matches(probe)[0] is not Match.NONE:
            # A mount (the docs' static files) serves what files are read with.
            methods |= getattr(route, "methods", None) or {"GET"}
    if "GET" in methods:
        methods.add("HEAD")
    return methods


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI routes each method separately, and the first route matching the path answers 405
    # with only its own method in `Allow`: list what every route on the path serves instead.
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "Method Not Allowed"
    return JSONResponse(
        {"detail": detail},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(sorted(allowed_methods(request.app, request.scope)))},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    settings.check_production()
    mcp = mcp_endpoint.McpEndpoint(build_server(settings.opentelemetry))
    # The docs pages load Swagger UI and ReDoc from the fastapi-offline package: no CDN.
    app = FastAPIOffline(
        title="Todo API",
        description="RESTful API for a multi-user todo application.",
        version=__version__,
        lifespan=lifespan,
        telemetry=None
        if settings.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
        static_url=STATIC_DOCS_URL,
        # Swagger UI's default validator badge would call validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
        responses={429: TOO_MANY_REQUESTS},
        # RequestContextMiddleware serves `/path/` as `/path`: no redirects.
        redirect_slashes=False,
        # The busiest routes are the app's own, matched first: FastAPI 0.165 matches an included
        # router's routes through a wrapper of its own (the README's Performance section).
        # Then /mcp: each route tried before it costs a tool call a few microseconds.
        routes=[*tasks.router.routes, *tags.router.routes, mcp_endpoint.route(mcp)],
    )
    app.state.settings = settings
    rate_limiter = RateLimiter(settings)
    app.state.rate_limiter = rate_limiter
    # Added innermost first: request context → CORS → address rate limit → body size → HEAD
    # → app.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Limits that are off cost nothing: no middleware, and the owner check skips the count.
    if rate_limiter.per_ip:
        app.add_middleware(IpRateLimitMiddleware, limiter=rate_limiter, exempt=HEALTH_PATHS)
    app.add_middleware(
        OriginCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Retry-After", "X-Request-ID", "X-Changes-Cursor"],
    )
    app.add_middleware(RequestContextMiddleware, docs_paths=DOCS_PATHS)
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, _method_not_allowed)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ApiError, api_error_handler)
    app.include_router(health.router)
    app.state.mcp = mcp
    app.include_router(mcp_endpoint.router)
    app.include_router(auth.router, prefix="/api/auth", responses=API_ERRORS)
    app.include_router(webhooks.router)
    if settings.accounts_enabled:
        app.include_router(auth.accounts_router, prefix="/api/auth", responses=API_ERRORS)
    customise(
        app,
        password_flow=auth.PASSWORD_FLOW if settings.accounts_enabled else None,
        password_min_length=settings.password_min_length,
    )

    @app.get("/", tags=["meta"])
    async def read_root() -> Message:
        """Tells that the service is up."""
        return Message(message="Todo API is running")

    # Sync last: the document lists them after the rest.
    if settings.changes_enabled:
        app.include_router(changes.router)
        app.include_router(events.router)
    return app


app = create_app()
