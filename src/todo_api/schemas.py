"""Request and response bodies: what clients send and what they get back."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000


def _reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# The patterns only tell clients (and schema-driven fuzzers) what the validators above enforce:
# no NUL anywhere, and a title that is not blank once trimmed.
NO_NUL_PATTERN = r"^[^\x00]*$"
TITLE_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["Buy milk"], json_schema_extra={"pattern": TITLE_PATTERN}),
]
Description = Annotated[
    str,
    StringConstraints(max_length=DESCRIPTION_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["Two litres, semi-skimmed"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
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
    # Strict: the schema says boolean, so 0, 1 or "yes" are refused rather than guessed at.
    completed: StrictBool = False


class TaskUpdate(BaseModel):
    """A change to a task: fields left out, or sent as null, stay as they are."""

    title: Title | None = None
    description: Description | None = None
    completed: StrictBool | None = None


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
