"""The FastAPI application: `todo_api.main:app` for uvicorn, `create_app()` for tests."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from todo_api import __version__
from todo_api.auth import SharedSecretVerifier
from todo_api.config import Settings, get_settings
from todo_api.db import DatabaseUnavailable, open_database
from todo_api.routes import tasks
from todo_api.schemas import Message
from todo_api.services.tasks import TaskNotFound
from todo_api.services.users import KnownUsers

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect (and migrate) on startup; release the pool on shutdown."""
    settings: Settings = app.state.settings
    db = await open_database(settings, migrate=settings.run_migrations_on_startup)
    app.state.db = db
    app.state.verifier = SharedSecretVerifier(
        secret=settings.jwt_secret(),
        algorithm=settings.jwt_algorithm,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    app.state.known_users = KnownUsers()
    # Everything loaded so far lives as long as the process: keep the collector from walking
    # it again and again (a full collection over it stalled requests for tens of ms).
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        await db.close()


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "Internal server error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
    )


async def _task_not_found(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "Task not found"}, status_code=status.HTTP_404_NOT_FOUND)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("Database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI routes each method separately, and the first route matching the path answers 405
    # with only its own method in `Allow`: list what the schema declares for the path instead.
    path = request.url.path
    methods = {
        method.upper()
        for template, operations in request.app.openapi()["paths"].items()
        if compile_path(template)[0].fullmatch(path)
        for method in operations
    }
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "Method Not Allowed"
    return JSONResponse(
        {"detail": detail},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(sorted(methods))},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    settings.check_production()
    app = FastAPI(
        title="Todo API",
        description="RESTful API for a multi-user todo application.",
        version=__version__,
        lifespan=lifespan,
        telemetry=None
        if settings.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, _method_not_allowed)
    app.add_exception_handler(TaskNotFound, _task_not_found)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled_error)
    app.include_router(tasks.router, prefix="/api")

    @app.get("/", tags=["meta"])
    async def read_root() -> Message:
        """Tells that the service is up."""
        return Message(message="Todo API is running")

    return app


app = create_app()
