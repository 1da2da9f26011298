"""`/health` (the process answers) and `/ready` (it can serve: database up, schema at head)."""

import asyncio
import logging

from fastapi import APIRouter
from pydantic import BaseModel

from todo_api.core.database import head_revision, schema_revision
from todo_api.core.errors import DatabaseUnavailable, ServiceUnavailable
from todo_api.core.http.messages import ErrorDetail, Message
from todo_api.core.state import SettingsDep, StoreDep

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
async def ready(store: StoreDep, settings: SettingsDep) -> Readiness:
    """The database answers and its schema is at the migration this release ships."""
    expected = head_revision()
    db = store.db
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


@router.get("/")
async def read_root() -> Message:
    """Tells that the service is up."""
    return Message(message="Todo API is running")
