"""The service's own accounts: sign-up, password sign-in, and the tokens they earn.

Users live in Better Auth's `user` table like everyone else; the password hash and the address
signed up with are kept apart, in `credential` (nobody verified that address: in the shared
`user.email` it would squat the address of the Better Auth user who owns it). Tokens are HS256
with the configured secret and carry Better Auth's claim shape, so the rest of the service
treats them as it treats the frontend's.
"""

import secrets
import string
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update

from todo_api.accounts.errors import EmailTaken, InvalidCredentials
from todo_api.accounts.models import User
from todo_api.accounts.passwords import check_password_policy, hash_password, verify_password
from todo_api.accounts.schemas import SignUp, Token, UserRead
from todo_api.accounts.throttle import LoginThrottle
from todo_api.accounts.tokens import SharedSecretVerifier
from todo_api.accounts.users import CREDENTIAL, USER, placeholder_email
from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, IntegrityViolation, Row

# Rows come back keyed by attribute names (`email_verified`), not Better Auth's column names.
# An own account's address is its credential's (`user.email` holds a placeholder for it).
_EMAIL = func.coalesce(CREDENTIAL.c.email, USER.c.email).label("email")
_USER_COLUMNS = [
    USER.c.id,
    USER.c.name,
    _EMAIL,
    or_(USER.c.emailVerified, CREDENTIAL.c.email_verified_at.is_not(None)).label("email_verified"),
    USER.c.image,
    USER.c.createdAt.label("created_at"),
    USER.c.updatedAt.label("updated_at"),
]
_PROFILE = (
    select(*_USER_COLUMNS)
    .select_from(USER.outerjoin(CREDENTIAL, CREDENTIAL.c.user_id == USER.c.id))
    .where(USER.c.id == bindparam("user_id"))
)
_LOGIN = (
    select(*_USER_COLUMNS, CREDENTIAL.c.password_hash)
    .join(CREDENTIAL, CREDENTIAL.c.user_id == USER.c.id)
    .where(CREDENTIAL.c.email == bindparam("email"))
)
# An address a user of the shared table already has (Better Auth's, or a frontend token's).
_ADDRESS_IN_USE = select(USER.c.id).where(USER.c.email == bindparam("email")).limit(1)
_REHASH = (
    update(CREDENTIAL)
    .where(CREDENTIAL.c.user_id == bindparam("user_id"))
    .values(password_hash=bindparam("password_hash"), updated_at=bindparam("now"))
)

# Better Auth's default ids: 32 random alphanumerics.
_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 32


async def sign_up(
    db: Database, data: SignUp, settings: Settings, ip: str, throttle: LoginThrottle
) -> Row:
    """Create a user and their password; EmailTaken if the email is already in use.

    A taken email counts as a failure for the client's address: probing which emails have
    accounts is throttled like guessing passwords.
    """
    await throttle.check(None, ip)
    await throttle.check_sign_up(ip)
    check_password_policy(data.password, settings, data.email)
    hashed = await hash_password(data.password)
    now = utcnow()
    user_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
    user = {
        "id": user_id,
        "name": data.name,
        # Unverified: the address stays in `credential`, the shared table gets a placeholder.
        "email": placeholder_email(user_id),
        "email_verified": False,
        "image": None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with db.transaction() as tx:
            if await tx.fetch_one(_ADDRESS_IN_USE, {"email": data.email}) is not None:
                raise IntegrityViolation("email in use")
            await tx.execute(insert(User).values(user))
            await tx.execute(
                insert(CREDENTIAL).values(
                    user_id=user_id,
                    email=data.email,
                    password_hash=hashed,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityViolation:
        await throttle.failed(None, ip)
        raise EmailTaken() from None
    await throttle.signed_up(ip)
    return user | {"email": data.email}


async def authenticate(
    db: Database, email: str, password: str, ip: str, throttle: LoginThrottle
) -> Row:
    """The user these credentials belong to; InvalidCredentials or TooManyAttempts otherwise.

    Unknown emails cost the same Argon2 verification as known ones, so timing does not tell
    which addresses have accounts.
    """
    await throttle.check(email, ip)
    row = await db.fetch_one(_LOGIN, {"email": email})
    stored = row.pop("password_hash") if row is not None else None
    valid, new_hash = await verify_password(password, stored)
    if row is None or not valid:
        await throttle.failed(email, ip)
        raise InvalidCredentials
    await throttle.succeeded(email, ip)
    if new_hash is not None:
        # The hashing parameters changed since this password was stored: upgrade it now.
        await db.execute(
            _REHASH, {"user_id": row["id"], "password_hash": new_hash, "now": utcnow()}
        )
    return row


async def get_profile(db: Database, user_id: str) -> Row | None:
    """The user's row, or None."""
    return await db.fetch_one(_PROFILE, {"user_id": user_id})


def access_token(user: Row, *, signer: SharedSecretVerifier, expires_in: int) -> Token:
    """A token for the user: HS* with the shared secret, Better Auth's claims, and the
    service's own issuer, audience and type."""
    claims: dict[str, Any] = {
        "id": user["id"],
        "email": user["email"],
        "name": user["name"],
        "emailVerified": user["email_verified"],
        "createdAt": user["created_at"].isoformat(),
        "updatedAt": user["updated_at"].isoformat(),
    }
    if user["image"] is not None:
        claims["image"] = user["image"]
    token = signer.issue(subject=user["id"], expires_in=timedelta(seconds=expires_in), **claims)
    return Token(access_token=token, expires_in=expires_in)


def user_read(user: Row) -> UserRead:
    """The user's public profile."""
    return UserRead.model_validate(user)
