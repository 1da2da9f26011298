"""Sharing a list: its members (`list_member`) and the invitations that make them
(`list_invitation`), and the roles a member can have."""

from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from sqlalchemy import Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from todo_api.core.database import UTCDateTime


class Role(StrEnum):
    """What someone may do with a list: a viewer sees it and its tasks; an editor also writes
    its tasks; its owner also renames, moves or deletes it and manages who is in it."""

    viewer = "viewer"
    editor = "editor"
    owner = "owner"

    @property
    def rank(self) -> int:
        """Higher may do more."""
        return _RANKS[self]


_RANKS = {Role.viewer: 1, Role.editor: 2, Role.owner: 3}


class ListMember(SQLModel, table=True):
    """Someone other than its owner who is in a list, with their role."""

    __tablename__ = "list_member"
    # The lists a user is in (the primary key serves a list's members).
    __table_args__ = (Index("ix_list_member_user_id", "user_id"),)

    list_id: int = Field(
        sa_type=Integer, foreign_key="task_list.id", ondelete="CASCADE", primary_key=True
    )
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    role: str = Field(sa_type=String(10))
    joined_at: datetime = Field(sa_type=UTCDateTime)


class ListInvitation(SQLModel, table=True):
    """A link that makes whoever opens it a member of the list: only the SHA-256 digest of its
    token is stored, so that the table alone lets nobody in."""

    __tablename__ = "list_invitation"
    __table_args__ = (Index("ix_list_invitation_list_id", "list_id"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    list_id: int = Field(sa_type=Integer, foreign_key="task_list.id", ondelete="CASCADE")
    digest: str = Field(sa_type=String(64), unique=True)
    role: str = Field(sa_type=String(10))
    uses_left: int = Field(sa_type=Integer)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class MemberRow(TypedDict):
    """A member as listed: their id, name and role."""

    user_id: str
    name: str | None
    role: str


class InvitationRow(TypedDict):
    """A `list_invitation` row."""

    id: int
    list_id: int
    digest: str
    role: str
    uses_left: int
    expires_at: datetime
    created_at: datetime
