"""Invitations and members as clients send and see them."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field


class MemberRole(StrEnum):
    """The roles an invitation can give, or the owner can set (a list has one owner)."""

    editor = "editor"
    viewer = "viewer"


class InvitationCreate(BaseModel):
    """A new invitation link to the list: the role it gives, how long it stays open, and how
    many people can use it."""

    role: MemberRole
    expires_in_hours: Annotated[float, Field(gt=0, le=720)] = 168
    max_uses: Annotated[int, Field(ge=1, le=1000)] = 1


class InvitationRead(BaseModel):
    """An open invitation (its token was shown once, when it was made)."""

    id: int
    role: MemberRole
    expires_at: datetime
    uses_left: int


class InvitationCreated(InvitationRead):
    """A new invitation, with the token to send to whoever should join: shown only now."""

    token: str


class InvitationAccept(BaseModel):
    """The token of an invitation someone sent the caller."""

    token: Annotated[str, Field(min_length=1, max_length=200)]


class MemberRead(BaseModel):
    """Someone in the list: its owner (`owner`) or a member."""

    user_id: str
    name: str | None
    role: str


class MemberPatch(BaseModel):
    """A member's new role."""

    role: MemberRole
