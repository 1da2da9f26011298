"""Accounts as clients send them (sign-up, sign-in) and see them (profile, tokens)."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints

from todo_api.core.fields import NO_NUL_PATTERN, reject_nul, trimmed_not_blank

NAME_MAX_LENGTH = 100
# Argon2 takes any length, but hashing megabytes per request is a denial of service.
PASSWORD_MAX_LENGTH = 128


def _normalise_email(value: str) -> str:
    # Better Auth lowercases emails too: one address, one account, whatever the case typed.
    return value.strip().lower()


Email = Annotated[EmailStr, AfterValidator(_normalise_email), Field(examples=["alice@example.com"])]
SignInEmail = Annotated[
    str,
    StringConstraints(min_length=1, max_length=320),
    AfterValidator(reject_nul),
    AfterValidator(_normalise_email),
    Field(examples=["alice@example.com"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(reject_nul),
    Field(examples=["correct horse battery staple"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(trimmed_not_blank),
    Field(examples=["Alice"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]


class SignUp(BaseModel):
    """A new account. The password's minimum length is a setting (`PASSWORD_MIN_LENGTH`)."""

    email: Email
    password: Password
    name: Name


class SignIn(BaseModel):
    """Credentials of an existing account."""

    # Not validated as an address: whatever does not match an account is a plain 401.
    email: SignInEmail
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


class SignedIn(Token):
    """A token and the user it belongs to, as Better Auth answers sign-up and sign-in: the
    user's `id` is the `{user_id}` of their paths."""

    user: UserRead
