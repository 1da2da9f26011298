"""The accounts' tables: Better Auth's `user`, shared with it, and the service's own sign-ins."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from todo_api.core.clock import utcnow
from todo_api.core.database import UTCDateTime


class User(SQLModel, table=True):
    """A person, in the exact shape of Better Auth's `user` table so both can share it."""

    __tablename__ = "user"

    id: str = Field(sa_type=Text, primary_key=True)
    name: str = Field(sa_type=Text)
    email: str = Field(sa_type=Text, unique=True)
    email_verified: bool = Field(default=False, sa_column_kwargs={"name": "emailVerified"})
    image: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"name": "createdAt"}
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"name": "updatedAt"}
    )


# JSONB on PostgreSQL (compact, queryable), JSON text on SQLite.


class Credential(SQLModel, table=True):
    """The sign-in of a user who signed up with the service itself (not via Better Auth).

    A table of its own, so Better Auth's `user` columns stay exactly as Better Auth made them.
    The address signed up with lives here, not in `user.email`: nobody has verified it, and in
    the shared table it would take the address from the Better Auth user who really owns it.
    """

    __tablename__ = "credential"

    user_id: str = Field(sa_type=Text, primary_key=True, foreign_key="user.id", ondelete="CASCADE")
    email: str = Field(sa_type=Text, unique=True)
    # When its owner opened the link mailed to it: until then no reminder is mailed there.
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_hash: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignInEvent(SQLModel, table=True):
    """A failed sign-in (or a sign-up), as the throttle counts it when there is no Redis: one
    row per event and counter key (an address, an account from an address)."""

    __tablename__ = "sign_in_event"
    __table_args__ = (Index("ix_sign_in_event_key_at", "key", "at"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    key: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)


class EmailVerification(SQLModel, table=True):
    """A link mailed to an own account's address, to prove it is theirs: its token's digest
    (the token itself is only in the mail), single-use, until it expires."""

    __tablename__ = "email_verification"
    __table_args__ = (Index("ix_email_verification_user_id", "user_id"),)

    token_hash: str = Field(sa_type=String(64), primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    expires_at: datetime = Field(sa_type=UTCDateTime)
