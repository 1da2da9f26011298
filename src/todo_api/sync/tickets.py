"""Event stream tickets: what a browser's `EventSource`, which cannot send headers, opens a
stream with (`?ticket=`).

A ticket is a JWT for one user, to be used within a minute and once only (its `jti` is
spent in the database when a stream opens with it: a ticket that leaked from a URL in a log
opens nothing). It carries the expiry of the token that asked for it: the stream it opens ends
then, as a stream opened with that token would. Tickets are signed with a key derived from
SECRET_KEY, which every replica shares; a ticket is never a bearer token (nor a bearer token a
ticket), since the keys differ.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import bindparam, delete, insert

from todo_api.accounts import AuthError
from todo_api.core.clock import utcnow
from todo_api.core.database import Database, IntegrityViolation, table_of
from todo_api.sync.models import SpentTicket

TICKET_SECONDS = 60
_AUDIENCE = "todo-api:events"
_KEY_PURPOSE = b"todo-api event stream tickets"


SPENT = table_of(SpentTicket)
_SPEND = insert(SPENT).values(
    jti=bindparam("jti"), expires_at=bindparam("expires_at", type_=SPENT.c.expires_at.type)
)
_FORGET_EXPIRED = delete(SPENT).where(
    SPENT.c.expires_at < bindparam("now", type_=SPENT.c.expires_at.type)
)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A verified ticket: whose stream it opens, its id, until when it may be used, and when
    the stream it opens ends (the expiry of the token that asked for it, if it had one)."""

    user_id: str
    jti: str
    expires_at: datetime
    session_ends_at: float | None


class TicketSigner:
    """Issues and verifies event stream tickets."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()

    def issue(
        self, user_id: str, session_ends_at: float | None = None, now: datetime | None = None
    ) -> str:
        """A ticket for `user_id`'s stream, to be used within TICKET_SECONDS of `now`; the
        stream ends at `session_ends_at` (a Unix time), if given."""
        now = now or utcnow()
        claims: dict[str, object] = {
            "sub": user_id,
            "aud": _AUDIENCE,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + timedelta(seconds=TICKET_SECONDS),
        }
        if session_ends_at is not None:
            claims["session_exp"] = session_ends_at
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, ticket: str) -> Ticket:
        """What a ticket says; AuthError if it is not a valid, unexpired one (whether it was
        used already is `spend`'s to say)."""
        try:
            claims = jwt.decode(
                ticket,
                self._key,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={"require": ["exp", "sub", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Ticket has expired") from None
        except jwt.PyJWTError:
            raise AuthError("Invalid ticket") from None
        subject, jti, session_exp = claims["sub"], claims["jti"], claims.get("session_exp")
        if not isinstance(subject, str) or not isinstance(jti, str):
            raise AuthError("Invalid ticket")
        if session_exp is not None and not isinstance(session_exp, int | float):
            raise AuthError("Invalid ticket")
        expires_at = datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo)
        return Ticket(subject, jti, expires_at, session_exp)


async def spend(db: Database, ticket: Ticket) -> None:
    """Use the ticket up; AuthError if it was used already (by any replica)."""
    async with db.transaction() as tx:
        await tx.execute(_FORGET_EXPIRED, {"now": utcnow()})
        try:
            await tx.execute(_SPEND, {"jti": ticket.jti, "expires_at": ticket.expires_at})
        except IntegrityViolation:
            raise AuthError("Ticket already used") from None
