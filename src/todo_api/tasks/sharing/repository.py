"""The SQL of sharing: members, invitations, and who sees a shared list's changes."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, literal, select, update

from todo_api.accounts import USER
from todo_api.core.database import Database, Rows, table_of
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.lists.repository import LIST, TASK_COUNT
from todo_api.tasks.sharing.models import InvitationRow, ListInvitation, ListMember, MemberRow

MEMBER = table_of(ListMember)
INVITATION = table_of(ListInvitation)
_NOW = bindparam("now", type_=INVITATION.c.expires_at.type)
# Named apart from the columns: an UPDATE takes those names for its SET values.
_THIS_MEMBER = (MEMBER.c.list_id == bindparam("member_list")) & (
    MEMBER.c.user_id == bindparam("member_id")
)
_OPEN = (INVITATION.c.uses_left > 0) & (INVITATION.c.expires_at > _NOW)

_MEMBERS = Rows[MemberRow](
    select(MEMBER.c.user_id, USER.c.name, MEMBER.c.role)
    .join(USER, USER.c.id == MEMBER.c.user_id)
    .where(MEMBER.c.list_id == bindparam("list_id"))
    .order_by(MEMBER.c.joined_at, MEMBER.c.user_id)
)
_OWNER = Rows[MemberRow](
    select(LIST.c.user_id, USER.c.name, literal("owner").label("role"))
    .join(USER, USER.c.id == LIST.c.user_id)
    .where(LIST.c.id == bindparam("list_id"))
)
_SHARED_WITH = Rows[ListRow](
    select(LIST, TASK_COUNT, MEMBER.c.role)
    .join(MEMBER, MEMBER.c.list_id == LIST.c.id)
    .where(MEMBER.c.user_id == bindparam("user_id"))
    .order_by(MEMBER.c.joined_at, LIST.c.id)
)
_MEMBER_COUNT = select(func.count()).where(MEMBER.c.list_id == bindparam("list_id"))
_JOIN = insert(MEMBER).values(
    list_id=bindparam("list_id"),
    user_id=bindparam("user_id"),
    role=bindparam("role"),
    joined_at=bindparam("now", type_=MEMBER.c.joined_at.type),
)
_RECOUNT = (
    update(LIST)
    .where(LIST.c.id == bindparam("counted_list"))
    .values(
        member_count=select(func.count()).where(MEMBER.c.list_id == LIST.c.id).scalar_subquery()
    )
)
_SET_ROLE = update(MEMBER).where(_THIS_MEMBER).values(role=bindparam("new_role"))
_REMOVE = delete(MEMBER).where(_THIS_MEMBER)

_INVITE = Rows[InvitationRow](
    insert(INVITATION)
    .values(
        list_id=bindparam("list_id"),
        digest=bindparam("digest"),
        role=bindparam("role"),
        uses_left=bindparam("uses_left"),
        expires_at=bindparam("expires_at", type_=INVITATION.c.expires_at.type),
        created_at=_NOW,
    )
    .returning(*INVITATION.c)
)
_OPEN_INVITATIONS = Rows[InvitationRow](
    select(INVITATION)
    .where(INVITATION.c.list_id == bindparam("list_id"), _OPEN)
    .order_by(INVITATION.c.id)
)
_FIND_OPEN = Rows[InvitationRow](
    select(INVITATION).where(INVITATION.c.digest == bindparam("digest"), _OPEN)
)
_OPEN_COUNT = select(func.count()).where(INVITATION.c.list_id == bindparam("list_id"), _OPEN)
_REVOKE = delete(INVITATION).where(
    INVITATION.c.list_id == bindparam("list_id"), INVITATION.c.id == bindparam("invitation_id")
)
# Spends one use, if one is left and the invitation is open: concurrent accepts of a
# single-use link cannot both get it.
_SPEND = Rows[InvitationRow](
    update(INVITATION)
    .where(INVITATION.c.digest == bindparam("token_digest"), _OPEN)
    .values(uses_left=INVITATION.c.uses_left - 1)
    .returning(*INVITATION.c)
)


async def members(db: Database, list_id: int) -> list[MemberRow]:
    """The list's owner, then its members in the order they joined."""
    params = {"list_id": list_id}
    return [*await db.fetch_all(_OWNER, params), *await db.fetch_all(_MEMBERS, params)]


async def shared_with(db: Database, user_id: str) -> list[ListRow]:
    """The lists the user is a member of, in the order they joined, with their role."""
    return await db.fetch_all(_SHARED_WITH, {"user_id": user_id})


async def member_ids(db: Database, list_id: int | None) -> list[str]:
    """The ids of the list's members (its owner left out; the Inbox has none)."""
    if list_id is None:
        return []
    return [row["user_id"] for row in await db.fetch_all(_MEMBERS, {"list_id": list_id})]


async def member_count(db: Database, list_id: int) -> int:
    """How many members the list has (its owner left out)."""
    return int(await db.scalar(_MEMBER_COUNT, {"list_id": list_id}))


async def join(db: Database, list_id: int, user_id: str, role: str, now: datetime) -> None:
    """Make the user a member of the list (held for update by the caller)."""
    await db.execute(_JOIN, {"list_id": list_id, "user_id": user_id, "role": role, "now": now})
    await db.execute(_RECOUNT, {"counted_list": list_id})


async def set_role(db: Database, list_id: int, user_id: str, role: str) -> bool:
    """Give the member another role; whether they are one."""
    params = {"member_list": list_id, "member_id": user_id, "new_role": role}
    return bool(await db.execute(_SET_ROLE, params))


async def remove(db: Database, list_id: int, user_id: str) -> bool:
    """Take the member out of the list (held for update by the caller); whether they were in
    it."""
    if not await db.execute(_REMOVE, {"member_list": list_id, "member_id": user_id}):
        return False
    await db.execute(_RECOUNT, {"counted_list": list_id})
    return True


async def invite(
    db: Database,
    list_id: int,
    digest: str,
    role: str,
    uses: int,
    expires_at: datetime,
    now: datetime,
) -> InvitationRow:
    """Store an invitation (by its token's digest), made `now`."""
    params = {
        "list_id": list_id,
        "digest": digest,
        "role": role,
        "uses_left": uses,
        "expires_at": expires_at,
        "now": now,
    }
    row = await db.fetch_one(_INVITE, params)
    assert row is not None  # INSERT … RETURNING always returns the row
    return row


async def open_invitations(db: Database, list_id: int, now: datetime) -> list[InvitationRow]:
    """The list's invitations that can still be accepted."""
    return await db.fetch_all(_OPEN_INVITATIONS, {"list_id": list_id, "now": now})


async def find_open(db: Database, digest: str, now: datetime) -> InvitationRow | None:
    """The open invitation with this digest, if there is one."""
    return await db.fetch_one(_FIND_OPEN, {"digest": digest, "now": now})


async def open_count(db: Database, list_id: int, now: datetime) -> int:
    """How many of the list's invitations can still be accepted."""
    return int(await db.scalar(_OPEN_COUNT, {"list_id": list_id, "now": now}))


async def revoke(db: Database, list_id: int, invitation_id: int) -> bool:
    """Delete the invitation; whether the list had it."""
    return bool(await db.execute(_REVOKE, {"list_id": list_id, "invitation_id": invitation_id}))


async def spend(db: Database, digest: str, now: datetime) -> InvitationRow | None:
    """Use up one use of the open invitation with this digest (None: no such open one)."""
    return await db.fetch_one(_SPEND, {"token_digest": digest, "now": now})


async def audience(db: Database, groups: Collection[int]) -> Mapping[int, Sequence[str]]:
    """The members of each list in `groups`, for a write that changes their tasks.

    The lists are held first (FOR KEY SHARE: writes to their tasks go on side by side), and
    the members of those that have some are read after, so a member who joins or leaves (which
    holds the list for update, and counts its members) is either in every change of a write
    that commits after, or in none of it.
    """
    ids = sorted(groups)
    held = await db.fetch_all(
        select(LIST.c.id, LIST.c.member_count)
        .where(LIST.c.id.in_(ids))
        .with_for_update(key_share=True)
    )
    shared = [row["id"] for row in held if row["member_count"]]
    if not shared:
        return {}
    rows = await db.fetch_all(
        select(MEMBER.c.list_id, MEMBER.c.user_id).where(MEMBER.c.list_id.in_(shared))
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["list_id"], []).append(row["user_id"])
    return found
