"""User rows: created and refreshed from verified tokens, without a write on every request, and
the address a user's mail goes to."""

from collections import OrderedDict

from sqlalchemy import Insert, bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from todo_api.accounts.models import Credential, User
from todo_api.accounts.tokens import Principal
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, IntegrityViolation, table_of

# Reserved by RFC 2606: a stand-in address that can never belong to anybody.
PLACEHOLDER_EMAIL_DOMAIN = "users.invalid"


class KnownUsers:
    """Per user id, the profile this process last wrote to the `user` table (bounded LRU)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._written: OrderedDict[str, Principal] = OrderedDict()

    def __contains__(self, principal: Principal) -> bool:
        if self._written.get(principal.user_id) == principal:
            self._written.move_to_end(principal.user_id)
            return True
        return False

    def add(self, principal: Principal) -> None:
        self._written[principal.user_id] = principal
        self._written.move_to_end(principal.user_id)
        if len(self._written) > self._capacity:
            self._written.popitem(last=False)

    def forget(self, user_id: str) -> None:
        self._written.pop(user_id, None)


USER = table_of(User)
CREDENTIAL = table_of(Credential)


async def ensure_user(db: Database, principal: Principal, known: KnownUsers) -> None:
    """Make sure the caller has a `user` row, created or refreshed from the token's claims.

    Writes only when this process has not yet written these exact claims for this user, so a
    known user costs no query; a changed name, email or image is written once.
    """
    if principal in known:
        return
    try:
        await db.execute(_upsert(db, principal, with_email=True))
    except IntegrityViolation:
        # The claimed email already belongs to another user row: keep the id, not the email.
        await db.execute(_upsert(db, principal, with_email=False))
    known.add(principal)


def _upsert(db: Database, principal: Principal, *, with_email: bool) -> Insert:
    insert = pg_insert if db.dialect_name == "postgresql" else sqlite_insert
    now = utcnow()
    email = principal.email if with_email else None
    verified = principal.email_verified if email is not None else None
    statement = insert(User).values(
        id=principal.user_id,
        name=principal.name or (principal.email or principal.user_id).split("@")[0],
        email=email or placeholder_email(principal.user_id),
        email_verified=bool(verified),
        image=principal.image,
        created_at=now,
        updated_at=now,
    )
    # Claims the token carries refresh the row; absent ones leave Better Auth's values alone.
    claimed = (
        ("name", principal.name),
        ("email", email),
        ("image", principal.image),
        ("emailVerified", verified),
    )
    changes = {USER.c[name]: value for name, value in claimed if value is not None}
    if not changes:
        return statement.on_conflict_do_nothing(index_elements=[USER.c.id])
    return statement.on_conflict_do_update(
        index_elements=[USER.c.id],
        set_={**changes, USER.c.updatedAt: now},
        # Unchanged rows are not rewritten (and keep their `updatedAt`).
        where=or_(*(column.is_distinct_from(value) for column, value in changes.items())),
    )


def placeholder_email(user_id: str) -> str:
    """A unique, undeliverable address for a user whose token carries no email."""
    return f"{user_id}@{PLACEHOLDER_EMAIL_DOMAIN}"


# The address proven to be theirs: an own account's once its owner opened the link mailed to
# it (`email_verification.py`), else the row's if its token's issuer said it verified it.
_EMAIL = (
    select(
        case(
            (CREDENTIAL.c.email_verified_at.is_not(None), CREDENTIAL.c.email),
            (USER.c.emailVerified.is_(True), USER.c.email),
            else_=None,
        )
    )
    .select_from(USER.outerjoin(CREDENTIAL, CREDENTIAL.c.user_id == USER.c.id))
    .where(USER.c.id == bindparam("user_id"))
)


def deliverable(email: str | None) -> bool:
    """Whether mail can be sent to `email` (not the stand-in of a token without one)."""
    return bool(email) and not str(email).endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)


async def mail_address(db: Database, user_id: str) -> str | None:
    """Where the user's mail goes: their email once it is verified (a token that says
    `emailVerified: true`, or the service's own verification), else None: mail to an address
    nobody proved is theirs could go to anybody."""
    email: str | None = await db.scalar(_EMAIL, {"user_id": user_id})
    return email if deliverable(email) else None


_LOCK_USER = update(USER).where(USER.c.id == bindparam("user_id")).values(name=USER.c.name)


async def lock_user(tx: Database, user_id: str) -> bool:
    """Hold the user's row until the transaction `tx` ends (an update that changes nothing,
    which SQLite, too, takes as a lock: it has no SELECT … FOR UPDATE); whether there is one.
    What a user owns and has no row of its own to lock (their Inbox's order) waits on it."""
    return bool(await tx.execute(_LOCK_USER, {"user_id": user_id}))
