"""Sharing a list: `/api/{user_id}/lists/{list_id}/invitations` and `…/members`, and
`/api/{user_id}/invitations/accept`."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from todo_api.accounts import Owner
from todo_api.core.http.responses import OWNER_ERRORS, Responses, error
from todo_api.core.state import provide
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.lists.routes import NOT_FOUND, OwnedList, VisibleList
from todo_api.tasks.lists.schemas import ListRead
from todo_api.tasks.sharing import access, service
from todo_api.tasks.sharing.limits import AcceptLimiter
from todo_api.tasks.sharing.models import InvitationRow, Role
from todo_api.tasks.sharing.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    MemberPatch,
    MemberRead,
)

router = APIRouter(prefix="/api/{user_id}", tags=["sharing"], responses=OWNER_ERRORS)

FORBIDDEN: Responses = {
    403: error(
        "The caller's role in the list does not allow it", "Only the list's owner can do this"
    )
}
MEMBER_ERRORS: Responses = (
    NOT_FOUND
    | FORBIDDEN
    | {409: error("The owner cannot leave or change role", "The owner cannot leave the list")}
)
AcceptLimiterDep = Annotated[AcceptLimiter, Depends(provide(AcceptLimiter))]
MemberId = Annotated[str, Path(min_length=1, max_length=255)]


def _invitation(row: InvitationRow) -> InvitationRead:
    return InvitationRead.model_validate(row)


@router.post(
    "/lists/{list_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND
    | FORBIDDEN
    | {409: error("The list has the most open invitations allowed", "Invitation limit reached")},
)
async def create_invitation(
    row: OwnedList, data: InvitationCreate, owner: Owner
) -> InvitationCreated:
    """A link to the list for whoever should join it, with the role it gives: its `token` is
    shown only in this answer. The list's owner only."""
    limit = owner.settings.max_invitations_per_list
    invitation, token = await service.invite(owner.db, row, data, max_open=limit)
    return InvitationCreated.model_validate(invitation | {"token": token})


@router.get("/lists/{list_id}/invitations", responses=NOT_FOUND | FORBIDDEN)
async def list_invitations(row: OwnedList, owner: Owner) -> list[InvitationRead]:
    """The list's invitations that can still be accepted (without their tokens)."""
    return [_invitation(invitation) for invitation in await service.open_invitations(owner.db, row)]


@router.delete(
    "/lists/{list_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND | FORBIDDEN,
)
async def revoke_invitation(
    row: OwnedList, invitation_id: Annotated[int, Path(ge=1, le=2**31 - 1)], owner: Owner
) -> None:
    """Close an invitation: its link lets nobody else in."""
    await service.revoke(owner.db, row, invitation_id)


@router.post(
    "/invitations/accept",
    responses={
        404: error(
            "Unknown, expired, used up or revoked", "Invitation not found, expired or used up"
        )
    },
)
async def accept_invitation(
    data: InvitationAccept, owner: Owner, limiter: AcceptLimiterDep
) -> ListRead:
    """Join the list an invitation is for, with the role it gives; the list, as the caller
    now sees it. Their feed gets `list.joined`; then `GET …/tasks?list_id=` has its tasks."""
    await limiter.hit(owner.user_id)
    row = await service.accept(
        owner.store,
        owner.user,
        data.token,
        owner.known_users,
        max_members=owner.settings.max_members_per_list,
    )
    return ListRead.of(row)


@router.get("/lists/{list_id}/members", responses=NOT_FOUND)
async def list_members(row: VisibleList, owner: Owner) -> list[MemberRead]:
    """Who is in the list: its owner first (`owner`), then its members."""
    return [MemberRead.model_validate(member) for member in await service.members(owner.db, row)]


@router.patch("/lists/{list_id}/members/{member_id}", responses=MEMBER_ERRORS)
async def change_role(
    row: OwnedList, member_id: MemberId, data: MemberPatch, owner: Owner
) -> MemberRead:
    """Give a member another role. The list's owner only."""
    return MemberRead.model_validate(await service.set_role(owner.store, row, member_id, data.role))


@router.delete(
    "/lists/{list_id}/members/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=MEMBER_ERRORS,
)
async def remove_member(row: VisibleList, member_id: MemberId, owner: Owner) -> None:
    """Take a member out of the list (its owner), or leave it (a member, with their own id).
    Their feed gets `list.left`, and nothing of the list after it."""
    _may_remove(row, member_id, owner.user_id)
    await service.remove(owner.store, row, member_id)


def _may_remove(row: ListRow, member_id: str, caller: str) -> None:
    # The owner removes anyone; a member only themselves.
    if caller != row["user_id"] and caller != member_id:
        access.require(Role(row.get("role", Role.viewer)), Role.owner)
