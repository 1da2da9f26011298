"""`/health` (the process answers) and `/ready` (it can serve: database up, schema at head)."""

import asyncio
import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel

from todo_api.db import schema_revision
from todo_api.deps import DbDep, SettingsDep
from todo_api.errors import DatabaseUnavailable, ServiceUnavailable
from todo_api.schemas.messages import ErrorDetail

logger = logging.getLogger(__name__)

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    """The service's state."""

    status: str


class Readiness(Health):
    """Ready to serve, and the schema revision it serves with."""

    schema_revision: str


@router.get("/health")
async def health() -> Health:
    """The process is alive. Touches no database: use it as a liveness probe."""
    return Health(status="ok")


@router.get(
    "/ready",
    responses={
        503: {
            "model": ErrorDetail,
            "description": "The database is unreachable or its schema is not at the newest "
            "migration",
            "content": {"application/json": {"example": {"detail": "The database is unreachable"}}},
        }
    },
)
async def ready(request: Request, db: DbDep, settings: SettingsDep) -> Readiness:
    """The database answers and its schema is at the migration this release ships."""
    expected: str = request.app.state.schema_head
    try:
        async with asyncio.timeout(settings.db_connect_timeout_seconds):
            await db.ping()
    except (DatabaseUnavailable, TimeoutError) as error:
        logger.warning("Not ready: the database is unreachable: %s", error)
        raise ServiceUnavailable("The database is unreachable") from None
    try:
        async with asyncio.timeout(settings.db_connect_timeout_seconds):
            current = await schema_revision(db)
    except Exception as error:
        logger.warning("Not ready: cannot read the schema revision: %r", error)
        current = None
    if current != expected:
        raise ServiceUnavailable(
            f"The database schema is at revision {current or 'none'}, this release needs "
            f"{expected}: run `todo-api db upgrade`"
        )
    return Readiness(status="ready", schema_revision=current)
