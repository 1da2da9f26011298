"""Request and response bodies: what clients send and what they get back."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

TITLE_MAX_LENGTH = 200
NAME_MAX_LENGTH = 100
# Argon2 takes any length, but hashing megabytes per request is a denial of service.
PASSWORD_MAX_LENGTH = 128
DESCRIPTION_MAX_LENGTH = 1000


def _reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["Buy milk"]),
]
Description = Annotated[
    str,
    StringConstraints(max_length=DESCRIPTION_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["Two litres, semi-skimmed"]),
]


class StatusFilter(StrEnum):
    """Which tasks a listing returns."""

    all = "all"
    pending = "pending"
    completed = "completed"


class TaskCreate(BaseModel):
    """A new task. Unknown fields are ignored."""

    title: Title
    description: Description | None = None
    completed: bool = False


class TaskUpdate(BaseModel):
    """A change to a task: fields left out, or sent as null, stay as they are."""

    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None


class TaskRead(BaseModel):
    """A task as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class Message(BaseModel):
    """A plain status message."""

    message: str


class ErrorDetail(BaseModel):
    """The body of every error response."""

    detail: str


def _normalise_email(value: str) -> str:
    # Better Auth lowercases emails too: one address, one account, whatever the case typed.
    return value.strip().lower()


Email = Annotated[EmailStr, AfterValidator(_normalise_email), Field(examples=["alice@example.com"])]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["correct horse battery staple"]),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["Alice"]),
]


class SignUp(BaseModel):
    """A new account. The password's minimum length is a setting (`PASSWORD_MIN_LENGTH`)."""

    email: Email
    password: Password
    name: Name


class SignIn(BaseModel):
    """Credentials of an existing account."""

    email: Email
    password: Password


class UserRead(BaseModel):
    """A user's profile as clients see it."""

    id: str
    email: str
    name: str
    image: str | None
    email_verified: bool
    created_at: datetime
    updated_at: datetime


class Token(BaseModel):
    """An access token, in the OAuth2 token response shape."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class SignedUp(Token):
    """A new account: its profile and a token to use right away."""

    user: UserRead
