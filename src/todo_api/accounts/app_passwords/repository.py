"""The SQL of app passwords."""

from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from todo_api.accounts.app_passwords.models import AppPassword, AppPasswordRow
from todo_api.accounts.users import CREDENTIAL, USER
from todo_api.core.database import Database, Row, Rows, table_of

APP_PASSWORD = table_of(AppPassword)
_AT = APP_PASSWORD.c.created_at.type
_PUBLIC = [c for c in APP_PASSWORD.c if c.name != "digest"]

_CREATE = Rows[AppPasswordRow](
    insert(APP_PASSWORD)
    .values(
        user_id=bindparam("user_id"),
        name=bindparam("name"),
        scopes=bindparam("scopes"),
        digest=bindparam("digest"),
        created_at=bindparam("now", type_=_AT),
    )
    .returning(*_PUBLIC)
)
_OF_USER = Rows[AppPasswordRow](
    select(*_PUBLIC)
    .where(APP_PASSWORD.c.user_id == bindparam("user_id"))
    .order_by(APP_PASSWORD.c.id)
)
_COUNT = select(func.count()).where(APP_PASSWORD.c.user_id == bindparam("user_id"))
_REVOKE = delete(APP_PASSWORD).where(
    APP_PASSWORD.c.user_id == bindparam("user_id"), APP_PASSWORD.c.id == bindparam("password_id")
)
# The password a secret's digest names, with the names its user may sign in with: their id,
# the `user` row's email, and an own account's address (kept in `credential`).
_BY_DIGEST = (
    select(
        APP_PASSWORD.c.id,
        APP_PASSWORD.c.user_id,
        APP_PASSWORD.c.scopes,
        APP_PASSWORD.c.last_used_at,
        USER.c.name.label("user_name"),
        func.lower(USER.c.email).label("email"),
        func.lower(CREDENTIAL.c.email).label("own_email"),
    )
    .join(USER, USER.c.id == APP_PASSWORD.c.user_id)
    .outerjoin(CREDENTIAL, CREDENTIAL.c.user_id == APP_PASSWORD.c.user_id)
    .where(APP_PASSWORD.c.digest == bindparam("digest"))
)
# Only when the stored time is older than `stale`: concurrent requests write it once.
_TOUCH = (
    update(APP_PASSWORD)
    .where(
        APP_PASSWORD.c.id == bindparam("password_id"),
        or_(
            APP_PASSWORD.c.last_used_at.is_(None),
            APP_PASSWORD.c.last_used_at < bindparam("stale", type_=_AT),
        ),
    )
    .values(last_used_at=bindparam("now", type_=_AT))
)


async def create(
    db: Database, user_id: str, name: str, scopes: str, digest: str, now: datetime
) -> AppPasswordRow:
    """Store a new app password; the row (without its digest)."""
    row = await db.fetch_one(
        _CREATE,
        {"user_id": user_id, "name": name, "scopes": scopes, "digest": digest, "now": now},
    )
    assert row is not None
    return row


async def of_user(db: Database, user_id: str) -> list[AppPasswordRow]:
    """The user's app passwords, oldest first."""
    return await db.fetch_all(_OF_USER, {"user_id": user_id})


async def count(db: Database, user_id: str) -> int:
    """How many app passwords the user holds."""
    return int(await db.scalar(_COUNT, {"user_id": user_id}))


async def revoke(db: Database, user_id: str, password_id: int) -> bool:
    """Delete the user's app password; whether there was one."""
    return bool(await db.execute(_REVOKE, {"user_id": user_id, "password_id": password_id}))


async def by_digest(db: Database, digest: str) -> Row | None:
    """The app password with this digest and its user's names, or None."""
    return await db.fetch_one(_BY_DIGEST, {"digest": digest})


async def touch(db: Database, password_id: int, now: datetime, stale: datetime) -> None:
    """Record a use now, unless one since `stale` is recorded already."""
    await db.execute(_TOUCH, {"password_id": password_id, "now": now, "stale": stale})
