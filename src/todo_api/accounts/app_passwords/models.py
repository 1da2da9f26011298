"""The `app_password` table: a user's app passwords, kept as digests of their secrets."""

from datetime import datetime
from typing import TypedDict

from sqlalchemy import Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from todo_api.core.database import UTCDateTime


class AppPassword(SQLModel, table=True):
    """A secret a user gave a client: its name, what it may do (`scopes`, space-separated and
    sorted), the SHA-256 digest of the secret, and when it was last used (about to the
    minute)."""

    __tablename__ = "app_password"
    __table_args__ = (Index("ix_app_password_user_id", "user_id"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    name: str = Field(sa_type=String(100))
    scopes: str = Field(sa_type=String(50))
    digest: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AppPasswordRow(TypedDict):
    """An app password as the repository returns it (never its digest)."""

    id: int
    user_id: str
    name: str
    scopes: str
    created_at: datetime
    last_used_at: datetime | None
