"""`/api/{user_id}/tags`: the labels on the caller's tasks."""

from fastapi import APIRouter

from todo_api.deps import Owner
from todo_api.routes.tasks import _AUTH_ERRORS
from todo_api.schemas import TagCount
from todo_api.services import tasks as task_service

router = APIRouter(prefix="/{user_id}/tags", tags=["tags"], responses=_AUTH_ERRORS)


@router.get("")
async def list_tags(owner: Owner) -> list[TagCount]:
    """Every tag on the caller's tasks (case-insensitively one) and how many tasks carry it."""
    return await task_service.tag_counts(owner.db, owner.user_id)  # type: ignore[return-value]
