"""Proving an own account's address: a link with a single-use token, mailed when SMTP is set.

Until its owner opens the link, nothing else is mailed to the address (no reminder): whoever
signs up may type anybody's. The token is in the mail only; the database keeps its digest, for
a day, and deletes it when it is used (or a newer link is sent).
"""

import hashlib
import logging
import secrets
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

from sqlalchemy import bindparam, delete, insert, select, update

from todo_api.accounts.errors import VerificationLinkInvalid
from todo_api.accounts.models import EmailVerification
from todo_api.accounts.users import CREDENTIAL
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, table_of
from todo_api.core.mail import MailNotSent, SmtpMailer

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(days=1)
VERIFY_PATH = "/api/auth/verify-email"

LINK = table_of(EmailVerification)
_NOW = bindparam("now", type_=LINK.c.expires_at.type)
_FORGET = delete(LINK).where(LINK.c.user_id == bindparam("user_id"))
_ISSUE = insert(LINK).values(
    token_hash=bindparam("token_hash"),
    user_id=bindparam("owner"),
    expires_at=bindparam("expires_at", type_=LINK.c.expires_at.type),
)
# Used up as it is read: a link works once.
_USE = (
    delete(LINK)
    .where(LINK.c.token_hash == bindparam("token_hash"), LINK.c.expires_at > _NOW)
    .returning(LINK.c.user_id)
)
_VERIFIED = (
    update(CREDENTIAL)
    .where(CREDENTIAL.c.user_id == bindparam("owner"))
    .values(email_verified_at=bindparam("now", type_=CREDENTIAL.c.email_verified_at.type))
)
_UNVERIFIED_ADDRESS = select(CREDENTIAL.c.email).where(
    CREDENTIAL.c.user_id == bindparam("user_id"), CREDENTIAL.c.email_verified_at.is_(None)
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def address_to_verify(db: Database, user_id: str) -> str | None:
    """The own account's address while it is not verified; None otherwise (verified already,
    or not an own account)."""
    address: str | None = await db.scalar(_UNVERIFIED_ADDRESS, {"user_id": user_id})
    return address


async def send_link(
    db: Database, mailer: SmtpMailer, user_id: str, address: str, base_url: str
) -> None:
    """Mail `address` a new link (earlier ones stop working); a failure to send is logged: the
    user asks for another."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with db.transaction() as tx:
        await tx.execute(_FORGET, {"user_id": user_id})
        params = {"token_hash": _digest(token), "owner": user_id}
        await tx.execute(_ISSUE, params | {"expires_at": now + LINK_LIFETIME})
    link = f"{base_url.rstrip('/')}{VERIFY_PATH}?{urlencode({'token': token})}"
    message = EmailMessage()
    message["To"] = address
    message["Subject"] = "Confirm your email address"
    message.set_content(
        "Open this link to confirm that this address is yours (it works once, for a day):\n\n"
        f"{link}\n\nIf you did not sign up, ignore this mail: nothing will be sent here.\n"
    )
    try:
        await mailer.send(message)
    except MailNotSent as error:
        logger.warning("The verification mail for user %s was not sent: %s", user_id, error)


async def confirm(db: Database, token: str) -> None:
    """Mark the address of the link's account verified; VerificationLinkInvalid if the link is
    unknown, used or expired."""
    now = utcnow()
    async with db.transaction() as tx:
        row = await tx.fetch_one(_USE, {"token_hash": _digest(token), "now": now})
        if row is None:
            raise VerificationLinkInvalid()
        await tx.execute(_VERIFIED, {"owner": row["user_id"], "now": now})
