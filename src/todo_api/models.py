"""Database tables. Request and response shapes live in `schemas.py`."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamptz that always comes back timezone-aware, on SQLite too.

    SQLite has no time zones: values are stored as UTC and marked UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


class Task(SQLModel, table=True):
    """A todo item owned by one user."""

    __tablename__ = "task"
    # Every query filters on the owner first; id keeps the listing order index-only.
    __table_args__ = (Index("ix_task_user_id_id", "user_id", "id"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    title: str = Field(sa_type=String(200))
    description: str | None = Field(default=None, sa_type=String(1000))
    completed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Credential(SQLModel, table=True):
    """The password of a user who signed up with the service itself (not via Better Auth).

    A table of its own, so Better Auth's `user` columns stay exactly as Better Auth made them.
    """

    __tablename__ = "credential"

    user_id: str = Field(sa_type=Text, primary_key=True, foreign_key="user.id", ondelete="CASCADE")
    password_hash: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
