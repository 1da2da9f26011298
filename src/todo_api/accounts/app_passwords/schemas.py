"""App passwords as clients send and see them."""

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
)

from todo_api.accounts.app_passwords.scopes import ALLOWED, Scope
from todo_api.core.fields import NO_NUL_PATTERN, reject_nul, trimmed_not_blank

NAME_MAX_LENGTH = 100

PasswordName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(trimmed_not_blank),
    Field(examples=["Thunderbird on my laptop"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]


class AppPasswordCreate(BaseModel):
    """A new app password: a name that says which client has it, and what it may do, one of
    `["caldav"]`, `["read"]`, `["read", "write"]` or `["feed"]` (in any order)."""

    name: PasswordName
    scopes: Annotated[
        list[Scope],
        Field(
            min_length=1,
            max_length=2,
            examples=[["caldav"]],
            # The sets themselves, so that the schema admits exactly what is accepted.
            json_schema_extra={
                "anyOf": [
                    {"const": [scope.value for scope in order]}
                    for scopes in ALLOWED
                    for order in dict.fromkeys((tuple(sorted(scopes)), tuple(sorted(scopes)[::-1])))
                ]
            },
        ),
    ]

    @field_validator("scopes")
    @classmethod
    def _one_purpose(cls, scopes: list[Scope]) -> list[Scope]:
        if len(set(scopes)) != len(scopes) or frozenset(scopes) not in ALLOWED:
            raise ValueError('must be one of ["caldav"], ["read"], ["read", "write"] or ["feed"]')
        return sorted(scopes)


def _split(value: object) -> object:
    # Stored space-separated (see scopes.py).
    return value.split() if isinstance(value, str) else value


StoredScopes = Annotated[list[Scope], BeforeValidator(_split)]


class AppPasswordRead(BaseModel):
    """An app password as listed (its secret was shown once, when it was made)."""

    id: int
    name: str
    scopes: StoredScopes
    created_at: datetime
    last_used_at: datetime | None


class AppPasswordCreated(BaseModel):
    """A new app password, with its secret (`password`): shown only in this answer."""

    id: int
    name: str
    scopes: StoredScopes
    password: str
    created_at: datetime
