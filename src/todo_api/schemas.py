"""Request and response bodies: what clients send and what they get back."""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
TAG_MAX_LENGTH = 50
TAGS_PER_TASK = 20


def _reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _unique_ignoring_case(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for tag in tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            unique.append(tag)
    if len(unique) > TAGS_PER_TASK:
        raise ValueError(f"at most {TAGS_PER_TASK} tags per task")
    return unique


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
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX_LENGTH),
    AfterValidator(_reject_nul),
]
Tags = Annotated[
    list[Tag],
    # Duplicates are dropped before the count is checked: ["a", "A"] is one tag.
    Field(max_length=TAGS_PER_TASK * 5, examples=[["groceries", "errands"]]),
    AfterValidator(_unique_ignoring_case),
]
Interval = Annotated[int, Field(ge=1, le=1000, description="Every N days/weeks/months/years.")]


class StatusFilter(StrEnum):
    """Which tasks a listing returns."""

    all = "all"
    pending = "pending"
    completed = "completed"


class Priority(StrEnum):
    """How important a task is; stored as its rank so that it sorts."""

    none = "none"
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class Recurrence(StrEnum):
    """How often a recurring task comes back once completed."""

    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    yearly = "yearly"


class TaskSort(StrEnum):
    """Listing orders; `-` sorts descending. Ties are broken by id, tasks without due date last."""

    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"
    due_date = "due_date"
    due_date_desc = "-due_date"
    priority = "priority"
    priority_desc = "-priority"
    title = "title"
    title_desc = "-title"

    @property
    def field(self) -> str:
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


class _Due(BaseModel):
    """The due-date model: `due_date` is the day; `due_at`, when set, the exact instant.

    Sending `due_at` sets `due_date` to its UTC day; sending only `due_date` clears `due_at`.
    """

    due_date: date | None = None
    due_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _due_date_follows_due_at(self) -> Self:
        if self.due_at is not None:
            utc_day = self.due_at.astimezone(UTC).date()
            if "due_date" in self.model_fields_set and self.due_date not in (None, utc_day):
                raise ValueError("due_date must be the UTC day of due_at (or be left out)")
            self.due_date = utc_day
        return self


class TaskCreate(_Due):
    """A new task. Unknown fields are ignored."""

    title: Title
    description: Description | None = None
    completed: bool = False
    priority: Priority = Priority.none
    tags: Tags = []
    recurrence: Recurrence | None = None
    recurrence_interval: Interval = 1


class TaskUpdate(_Due):
    """PUT, as the guidelines define it: fields left out, or sent as null, stay as they are."""

    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None
    priority: Priority | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: Interval | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to write."""
        changes = self.model_dump(exclude_none=True)
        if "due_date" in changes and "due_at" not in changes:
            changes["due_at"] = None
        return changes


class TaskPatch(_Due):
    """PATCH, JSON merge semantics: absent fields are untouched, null clears a field."""

    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None
    priority: Priority | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: Interval | None = None

    @model_validator(mode="after")
    def _required_fields_cannot_be_cleared(self) -> Self:
        for name in ("title", "completed", "recurrence_interval"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields to write, with the cleared ones set to their empty value."""
        changes = self.model_dump(include=self.model_fields_set)
        if changes.get("priority", ...) is None:
            changes["priority"] = Priority.none
        if "tags" in changes and changes["tags"] is None:
            changes["tags"] = []
        if "due_date" in self.model_fields_set and "due_at" not in self.model_fields_set:
            changes["due_at"] = None
        if "due_at" in self.model_fields_set:
            changes["due_date"] = self.due_date
        return changes


class TaskRead(BaseModel):
    """A task as clients see it. `version` changes with every write (the ETag)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    priority: Priority = Priority.none
    due_date: date | None = None
    due_at: datetime | None = None
    overdue: bool = False
    tags: list[str] = []
    recurrence: Recurrence | None = None
    recurrence_interval: int = 1
    version: int = 1


class BulkComplete(BaseModel):
    """Which tasks to complete at once: some ids, or every pending task."""

    ids: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=1000)] = []
    all_pending: bool = False

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if bool(self.ids) == self.all_pending:
            raise ValueError("send either `ids` or `all_pending: true`")
        return self


class BulkResult(BaseModel):
    """How many tasks a bulk request changed."""

    count: int


class TaskStats(BaseModel):
    """Counts over all of the user's tasks ("today" is the UTC day)."""

    total: int
    pending: int
    completed: int
    overdue: int
    due_today: int


class TagCount(BaseModel):
    """A tag and how many of the user's tasks carry it."""

    tag: str
    count: int


class Message(BaseModel):
    """A plain status message."""

    message: str


class ErrorDetail(BaseModel):
    """The body of every error response."""

    detail: str
