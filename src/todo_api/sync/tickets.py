"""Event stream tickets: what a browser's `EventSource`, which cannot send headers, opens a
stream with (`?ticket=`).

A ticket is a JWT for one user, valid for a minute, signed with a key derived from the
service's secret: every replica that verifies bearer tokens verifies tickets too, and a ticket
is never a bearer token (nor a bearer token a ticket), since the keys differ.
"""

import hashlib
import hmac
from datetime import datetime, timedelta

import jwt

from todo_api.accounts import AuthError
from todo_api.core.clock import utcnow

TICKET_SECONDS = 60
_AUDIENCE = "todo-api:events"
_KEY_PURPOSE = b"todo-api event stream tickets"


class TicketSigner:
    """Issues and verifies event stream tickets."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()

    def issue(self, user_id: str, now: datetime | None = None) -> str:
        """A ticket for `user_id`'s stream, valid TICKET_SECONDS from `now`."""
        now = now or utcnow()
        claims = {
            "sub": user_id,
            "aud": _AUDIENCE,
            "iat": now,
            "exp": now + timedelta(seconds=TICKET_SECONDS),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, ticket: str) -> str:
        """The user a ticket was issued to; AuthError if it is not a valid, unexpired one."""
        try:
            claims = jwt.decode(
                ticket,
                self._key,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Ticket has expired") from None
        except jwt.PyJWTError:
            raise AuthError("Invalid ticket") from None
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise AuthError("Invalid ticket")
        return subject
