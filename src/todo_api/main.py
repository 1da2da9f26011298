"""The FastAPI application: `todo_api.main:app` for the server, `create_app()` for tests.

The app factory is the one place that knows every domain: it mounts their routes, in the
order the OpenAPI document lists them, around the middleware and error handlers of the core;
`lifespan.py` builds what they run with.
"""

from fastapi import status
from fastapi.exceptions import RequestValidationError

from todo_api import __version__
from todo_api.accounts import routes as accounts
from todo_api.accounts.app_passwords import routes as app_passwords
from todo_api.accounts.app_passwords.openapi import offer_basic
from todo_api.calendars import caldav_routes
from todo_api.calendars import routes as calendars
from todo_api.core.config import Settings, get_settings
from todo_api.core.errors import ApiError, api_error_handler
from todo_api.core.http import health
from todo_api.core.http.methods import method_not_allowed
from todo_api.core.http.openapi import TodoApi
from todo_api.core.http.responses import API_ERRORS, HEAD_TOO_LARGE, TOO_MANY_REQUESTS
from todo_api.core.http.validation import invalid_request
from todo_api.core.middleware import (
    BodySizeLimitMiddleware,
    HeadMiddleware,
    IpRateLimitMiddleware,
    RequestContextMiddleware,
)
from todo_api.core.ratelimit import RateLimiter
from todo_api.core.state import AppState
from todo_api.lifespan import lifespan
from todo_api.mcp import endpoint as mcp_endpoint
from todo_api.mcp.server import build_server
from todo_api.notifications.webhooks import routes as webhooks
from todo_api.sync import events
from todo_api.sync.routes import changes_router
from todo_api.tasks import ListChange, TaskChange, tags
from todo_api.tasks import routes as tasks
from todo_api.tasks.lists import routes as lists
from todo_api.tasks.sharing import routes as sharing

STATIC_DOCS_URL = "/static/docs"
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
HEALTH_PATHS = ("/health", "/ready")


def create_app(settings: Settings | None = None) -> TodoApi:
    """Build the application for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    settings.check_production()
    state = AppState()
    state.add(settings)
    rate_limiter = state.add(RateLimiter(settings))
    mcp = state.add(mcp_endpoint.McpEndpoint(build_server(settings.opentelemetry)))
    # The docs pages load Swagger UI and ReDoc from the fastapi-offline package: no CDN.
    app = TodoApi(
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
        responses={429: TOO_MANY_REQUESTS, 431: HEAD_TOO_LARGE},
        # RequestContextMiddleware serves `/path/` as `/path`: no redirects.
        redirect_slashes=False,
        # The busiest routes are the app's own, matched first: FastAPI matches an included
        # router's routes through a wrapper of its own (bench/README.md has the figures).
        # Then /mcp: each route tried before it costs a tool call a few microseconds.
        routes=[*tasks.router.routes, *tags.router.routes, mcp_endpoint.route(mcp)],
        # The task API's routes also take app passwords over Basic (`ApiOwner`).
        document_edits=[*accounts.document_edits(settings), offer_basic({"tasks", "tags"})],
    )
    app.state.todo = state
    # Added innermost first: request context (and CORS) → address rate limit → body size →
    # HEAD → app.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Limits that are off cost nothing: no middleware, and the owner check skips the count.
    if rate_limiter.per_ip:
        app.add_middleware(IpRateLimitMiddleware, limiter=rate_limiter, exempt=HEALTH_PATHS)
    cors = {
        "allow_origins": settings.cors_origins,
        "allow_credentials": True,
        "allow_methods": ["*"],
        "allow_headers": ["*"],
        "expose_headers": ["Retry-After", "X-Request-ID", "X-Changes-Cursor"],
    }
    app.add_middleware(RequestContextMiddleware, cors=cors, docs_paths=DOCS_PATHS)
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, method_not_allowed)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ApiError, api_error_handler)
    app.include_router(health.router)
    app.include_router(mcp_endpoint.router)
    app.include_router(accounts.router, prefix="/api/auth", responses=API_ERRORS)
    app.include_router(lists.router)
    app.include_router(sharing.router)
    app.include_router(webhooks.router)
    app.include_router(app_passwords.router)
    app.include_router(calendars.router)
    if settings.accounts_enabled:
        app.include_router(accounts.accounts_router, prefix="/api/auth", responses=API_ERRORS)
    # CalDAV's routes are Starlette's: WebDAV is nothing the OpenAPI document describes.
    app.router.routes.extend(caldav_routes)
    # Sync last: the document lists them after the rest.
    if settings.changes_enabled:
        app.include_router(changes_router(TaskChange | ListChange))
        app.include_router(events.router)
    return app


app = create_app()
