"""The change log's tables: the log's one row, and its entries (one per change and feed)."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from todo_api.core.database import UTCDateTime


class ChangeLog(SQLModel, table=True):
    """The change log's one row: which log it is, and how far the purge has reached."""

    __tablename__ = "change_log"

    # Random, drawn when the log was created: cursors of another database's log get 410.
    epoch: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    # The highest change id retention has deleted: a cursor below it may have lost changes.
    purged_through: int = Field(default=0, sa_type=BigInteger)


class ChangeEntry(SQLModel, table=True):
    """A write to a record, as one user's clients replay it (`GET …/changes`): the record's
    kind and id, and its JSON as clients see it after the write (NULL once deleted).

    `id` is the change's position in the log, one sequence for every user. On PostgreSQL its
    default takes the writing transaction's id before the next number (`horizon.py` says why
    readers need that).
    """

    __tablename__ = "change"
    __table_args__ = (
        # A user's changes in log order. None on `at`: ids follow time, and retention purges
        # the oldest ids first.
        Index("ix_change_user_id_id", "user_id", "id"),
        # Ids never come back, not even the last one after a deletion: a cursor past it would
        # skip the change that reused it.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # Whose log it is in: a change to a record several users see is logged once for each.
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    # What kind of record (`task`): its change shows `<kind>_id` and `<kind>`.
    kind: str = Field(sa_type=String(20), sa_column_kwargs={"server_default": "task"})
    type: str = Field(sa_type=String(20))
    record_id: int = Field(sa_type=Integer)
    data: str | None = Field(default=None, sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)


class SpentTicket(SQLModel, table=True):
    """An event stream ticket that has opened its stream: it opens no other (kept until the
    ticket would have expired anyway)."""

    __tablename__ = "spent_ticket"
    __table_args__ = (Index("ix_spent_ticket_expires_at", "expires_at"),)

    jti: str = Field(sa_type=String(64), primary_key=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
