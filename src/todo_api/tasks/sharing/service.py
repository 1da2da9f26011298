"""Sharing a list: invitation links, accepting one, and the owner's say over who is in it.

Joining and leaving hold the list's row for update, which waits for every write in flight to
the list's tasks (each holds it for key share while it reads who to tell, `repository.audience`):
a member's feed gets `list.joined` before any change they are told of, and nothing after
`list.left`.
"""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from todo_api.accounts import KnownUsers, Principal, ensure_user
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, Store, UnitOfWork
from todo_api.tasks.lists import logged
from todo_api.tasks.lists import repository as lists
from todo_api.tasks.lists.errors import ListNotFound
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.sharing import access, repository
from todo_api.tasks.sharing.errors import (
    InvitationLimitReached,
    InvitationNotFound,
    MemberLimitReached,
    MemberNotFound,
    OwnerStays,
)
from todo_api.tasks.sharing.models import InvitationRow, MemberRow, Role
from todo_api.tasks.sharing.schemas import InvitationCreate, MemberRole


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _hold_list(uow: UnitOfWork, list_id: int) -> None:
    """Hold the list for update: membership changes wait for writes to its tasks, and they for
    it (see the module's docstring)."""
    held = await uow.db.fetch_one(
        select(lists.LIST.c.id).where(lists.LIST.c.id == list_id).with_for_update()
    )
    if held is None:
        raise ListNotFound(list_id)


async def invite(
    db: Database, row: ListRow, data: InvitationCreate, *, max_open: int
) -> tuple[InvitationRow, str]:
    """A new invitation to the list, and its token (which only its digest is kept of)."""
    now = utcnow()
    if max_open and await repository.open_count(db, row["id"], now) >= max_open:
        raise InvitationLimitReached(max_open)
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=data.expires_in_hours)
    invitation = await repository.invite(
        db, row["id"], _digest(token), data.role.value, data.max_uses, expires_at, now
    )
    return invitation, token


async def open_invitations(db: Database, row: ListRow) -> list[InvitationRow]:
    """The list's invitations that can still be accepted."""
    return await repository.open_invitations(db, row["id"], utcnow())


async def revoke(db: Database, row: ListRow, invitation_id: int) -> None:
    """Close the invitation for good."""
    if not await repository.revoke(db, row["id"], invitation_id):
        raise InvitationNotFound()


async def accept(
    store: Store, caller: Principal, token: str, known_users: KnownUsers, *, max_members: int
) -> ListRow:
    """Make the caller a member of the invitation's list, with its role; the list as they see
    it. The list's owner, or a member already, changes nothing (and uses nothing up)."""
    now = utcnow()
    digest = _digest(token)
    found = await repository.find_open(store.db, digest, now)
    if found is None:
        raise InvitationNotFound()
    list_id = found["list_id"]
    await ensure_user(store.db, caller, known_users)
    async with store.write() as uow:
        await _hold_list(uow, list_id)
        try:
            return (await access.list_for(uow.db, caller.user_id, list_id, Role.viewer)).row
        except ListNotFound:
            pass  # not in it yet
        invitation = await repository.spend(uow.db, digest, now)
        if invitation is None:  # used up or revoked meanwhile
            raise InvitationNotFound()
        if max_members and await repository.member_count(uow.db, list_id) >= max_members:
            raise MemberLimitReached(max_members)
        await repository.join(uow.db, list_id, caller.user_id, invitation["role"], now)
        joined = await access.list_for(uow.db, caller.user_id, list_id, Role.viewer)
        uow.record(logged.joined(joined.row, caller.user_id, invitation["role"], now))
    return joined.row


async def members(db: Database, row: ListRow) -> list[MemberRow]:
    """The list's owner and members."""
    return await repository.members(db, row["id"])


async def set_role(store: Store, row: ListRow, member_id: str, role: MemberRole) -> MemberRow:
    """Give a member another role (the owner's call); the member as listed now."""
    if member_id == row["user_id"]:
        raise OwnerStays()
    async with store.write() as uow:
        await _hold_list(uow, row["id"])
        if not await repository.set_role(uow.db, row["id"], member_id, role.value):
            raise MemberNotFound()
        uow.record(logged.joined(row, member_id, role.value, utcnow()))
    return next(
        m for m in await repository.members(store.db, row["id"]) if m["user_id"] == member_id
    )


async def remove(store: Store, row: ListRow, member_id: str) -> None:
    """Take a member out of the list (the owner's call, or the member's own: leaving)."""
    if member_id == row["user_id"]:
        raise OwnerStays()
    async with store.write() as uow:
        await _hold_list(uow, row["id"])
        if not await repository.remove(uow.db, row["id"], member_id):
            raise MemberNotFound()
        uow.record(logged.left(row["id"], member_id, utcnow()))
