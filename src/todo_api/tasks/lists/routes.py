"""`/api/{user_id}/lists`: the user's lists of tasks, in their order."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response, status

from todo_api.accounts import Owner
from todo_api.core.fields import MAX_ID
from todo_api.core.http.etags import etag, expected_version
from todo_api.core.http.responses import OWNER_ERRORS, Responses, error
from todo_api.tasks.lists import service
from todo_api.tasks.lists.events import KIND
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.lists.schemas import ListCreate, ListMove, ListPatch, ListRead
from todo_api.tasks.sharing import access
from todo_api.tasks.sharing.models import Role

router = APIRouter(prefix="/api/{user_id}/lists", tags=["lists"], responses=OWNER_ERRORS)

NOT_FOUND: Responses = {404: error("No such list", "List not found")}
WRITE_ERRORS: Responses = NOT_FOUND | {
    412: error("`If-Match` names an outdated version", "The list has changed")
}
IfMatch = Annotated[
    str | None,
    Header(max_length=1000, description="Write only if the list still has this ETag (else 412)."),
]


ListId = Annotated[int, Path(ge=1, le=MAX_ID)]


async def get_visible_list(list_id: ListId, owner: Owner) -> ListRow:
    """The list `{list_id}` if the caller owns it or is in it (with their `role`); 404
    otherwise, whoever else may own it."""
    return (await access.list_for(owner.db, owner.user_id, list_id, Role.viewer)).row


async def get_owned_list(list_id: ListId, owner: Owner) -> ListRow:
    """The list `{list_id}` if the caller owns it; 403 for its members, 404 for anybody else."""
    return (await access.list_for(owner.db, owner.user_id, list_id, Role.owner)).row


VisibleList = Annotated[ListRow, Depends(get_visible_list)]
OwnedList = Annotated[ListRow, Depends(get_owned_list)]
FORBIDDEN: Responses = {
    403: error("A member of the list, not its owner", "Only the list's owner can do this")
}


def _shown(row: ListRow, response: Response) -> ListRead:
    response.headers["ETag"] = etag(row)
    return ListRead.of(row)


@router.get("")
async def list_lists(owner: Owner) -> list[ListRead]:
    """The caller's lists in their order, then the lists shared with them, in the order they
    joined, each with the caller's `role` (tasks in no list are in the Inbox:
    `GET …/tasks?list_id=inbox`)."""
    return [ListRead.of(row) for row in await service.lists_of(owner.db, owner.user_id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: error("The user has the most lists allowed", "List limit reached")},
)
async def create_list(owner: Owner, data: ListCreate, response: Response) -> ListRead:
    """Add a list, last in the caller's order."""
    row = await service.create_list(
        owner.store,
        owner.user,
        data,
        owner.known_users,
        max_lists=owner.settings.max_lists_per_user,
    )
    return _shown(row, response)


@router.get("/{list_id}", responses=NOT_FOUND)
async def get_list(row: VisibleList, response: Response) -> ListRead:
    """One list, with its ETag."""
    return _shown(row, response)


@router.patch("/{list_id}", responses=WRITE_ERRORS | FORBIDDEN)
async def patch_list(
    row: OwnedList, data: ListPatch, owner: Owner, response: Response, if_match: IfMatch = None
) -> ListRead:
    """Rename or recolor a list: absent fields are untouched, a null `color` clears it."""
    version = expected_version(if_match, row, KIND)
    return _shown(await service.update_list(owner.store, row, data.changes(), version), response)


@router.delete(
    "/{list_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=WRITE_ERRORS | FORBIDDEN,
)
async def delete_list(row: OwnedList, owner: Owner, if_match: IfMatch = None) -> None:
    """Delete a list and every task in it (each a logged deletion)."""
    await service.delete_list(owner.store, row, expected_version(if_match, row, KIND))


@router.post("/{list_id}/move", responses=NOT_FOUND | FORBIDDEN)
async def move_list(row: OwnedList, move: ListMove, owner: Owner, response: Response) -> ListRead:
    """Put a list right after the list `after_id`, right before `before_id`, or first."""
    return _shown(await service.move_list(owner.store, row, move), response)
