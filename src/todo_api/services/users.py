"""User rows: created from the first verified token, without a write on every request."""

from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from todo_api.auth import Principal
from todo_api.db import Database
from todo_api.models import User, utcnow

# Reserved by RFC 2606: a stand-in address that can never belong to anybody.
PLACEHOLDER_EMAIL_DOMAIN = "users.invalid"


class KnownUsers:
    """The principals this process has already written to the `user` table (bounded LRU)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[Principal, None] = OrderedDict()

    def __contains__(self, principal: Principal) -> bool:
        if principal in self._seen:
            self._seen.move_to_end(principal)
            return True
        return False

    def add(self, principal: Principal) -> None:
        self._seen[principal] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)

    def forget(self, user_id: str) -> None:
        for principal in [p for p in self._seen if p.user_id == user_id]:
            del self._seen[principal]


async def ensure_user(db: Database, principal: Principal, known: KnownUsers) -> None:
    """Make sure the caller has a `user` row, creating it from the token's claims if missing."""
    if principal in known:
        return
    insert = pg_insert if db.dialect_name == "postgresql" else sqlite_insert
    now = utcnow()
    row = {
        "id": principal.user_id,
        "name": principal.name or (principal.email or principal.user_id).split("@")[0],
        "email": principal.email or placeholder_email(principal.user_id),
        "email_verified": False,
        "image": principal.image,
        "created_at": now,
        "updated_at": now,
    }
    # ON CONFLICT DO NOTHING makes two first requests at once harmless.
    await db.execute(insert(User).values(row).on_conflict_do_nothing())
    exists = await db.scalar(select(col(User.id)).where(col(User.id) == principal.user_id))
    if exists is None:
        # The claimed email already belongs to another user row: keep the id, not the email.
        row["email"] = placeholder_email(principal.user_id)
        await db.execute(insert(User).values(row).on_conflict_do_nothing())
    known.add(principal)


def placeholder_email(user_id: str) -> str:
    """A unique, undeliverable address for a user whose token carries no email."""
    return f"{user_id}@{PLACEHOLDER_EMAIL_DOMAIN}"
