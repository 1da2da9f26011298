"""Change cursors: a position in one user's log, as the opaque token clients pass back.

A cursor is the user's log epoch and a position. The epoch is drawn from the database's log
and the user's creation: a user deleted and signed up again has a new log, and cursors into the
old one get 410 instead of silently missing the deletion.
"""

import base64
import binascii
import struct
from dataclasses import dataclass

from todo_api.core.errors import ApiError

_CURSOR = struct.Struct(">IQ")
MAX_POSITION = 2**63 - 1
# How long an encoded cursor is.
CURSOR_LENGTH = 16


class InvalidCursor(ValueError):
    """A `since` / `Last-Event-ID` that this service never issued."""


class CursorExpired(ApiError):
    """A cursor the log can no longer serve: purged past it, or from a log that started over."""

    status_code = 410
    default_detail = (
        "The change log no longer reaches back to this cursor: list the tasks again and sync "
        "from that listing's X-Changes-Cursor"
    )


@dataclass(frozen=True, slots=True)
class ChangeCursor:
    """A position in one user's log `epoch`: after every change of theirs up to `position`."""

    epoch: int
    position: int

    def encode(self) -> str:
        """The opaque token clients pass back."""
        return (
            base64.urlsafe_b64encode(_CURSOR.pack(self.epoch, self.position)).decode().rstrip("=")
        )

    @classmethod
    def decode(cls, token: str) -> "ChangeCursor":
        """The position a token stands for; InvalidCursor if it is not one of ours."""
        if len(token) != CURSOR_LENGTH:
            raise InvalidCursor("is not a change id this service issued")
        try:
            epoch, position = _CURSOR.unpack(
                base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            )
        except (ValueError, binascii.Error, struct.error):
            raise InvalidCursor("is not a change id this service issued") from None
        if position > MAX_POSITION or epoch == 0:
            raise InvalidCursor("is not a change id this service issued")
        return cls(epoch, position)
