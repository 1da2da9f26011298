"""`/api/{user_id}/tags`: the labels on the caller's tasks."""

from fastapi import APIRouter

from todo_api.accounts import ApiOwner as Owner
from todo_api.core.http.responses import OWNER_ERRORS
from todo_api.tasks import reading
from todo_api.tasks.schemas import TagCount

# Mounted on the app itself, as the task routes are.
router = APIRouter(prefix="/api/{user_id}/tags", tags=["tags"], responses=OWNER_ERRORS)


@router.get("")
async def list_tags(owner: Owner) -> list[TagCount]:
    """Every tag on the caller's tasks (case-insensitively one) and how many tasks carry it."""
    return await reading.tag_counts(owner.db, owner.user_id)
