"""A task's field types: title, description, tags, search text, recurrence interval, days and
instants, with their limits; and a list's name."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from todo_api.core.fields import (
    NO_NUL_PATTERN,
    NOT_BLANK_PATTERN,
    ONE_LINE_PATTERN,
    RecordId,
    json_integer,
    one_line,
    reject_nul,
    trimmed_not_blank,
)

TITLE_MAX_LENGTH = 200
LIST_NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 1000
TAG_MAX_LENGTH = 50
TAGS_PER_TASK = 20
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


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


# One line of text, trimmed, not blank: a task's title, a list's name.
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(one_line),
    AfterValidator(trimmed_not_blank),
    Field(examples=["Buy milk"], json_schema_extra={"pattern": ONE_LINE_PATTERN}),
]
ListName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=LIST_NAME_MAX_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(one_line),
    AfterValidator(trimmed_not_blank),
    Field(examples=["Groceries"], json_schema_extra={"pattern": ONE_LINE_PATTERN}),
]
Description = Annotated[
    str,
    StringConstraints(max_length=DESCRIPTION_MAX_LENGTH),
    AfterValidator(reject_nul),
    Field(examples=["Two litres, semi-skimmed"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TAG_MAX_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(trimmed_not_blank),
    Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
]
Tags = Annotated[
    list[Tag],
    # Duplicates are dropped before the count is checked: ["a", "A"] is one tag.
    Field(max_length=TAGS_PER_TASK * 5, examples=[["groceries", "errands"]]),
    AfterValidator(_unique_ignoring_case),
]
SearchText = Annotated[
    str,
    StringConstraints(max_length=TITLE_MAX_LENGTH),
    AfterValidator(reject_nul),
    AfterValidator(str.strip),
]

# The bounds first, so that the schema keeps them as minimum and maximum.
Interval = Annotated[
    int,
    Field(ge=1, le=1000, description="Every N days/weeks/months/years."),
    BeforeValidator(json_integer),
]


def _as_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


def _iso_day_only(value: object) -> object:
    # Pydantic also reads a number as a Unix time: a day must be written as one.
    if isinstance(value, (int, float)) or (
        isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
        raise ValueError("must be a day as YYYY-MM-DD")
    return value


def _iso_time_only(value: object) -> object:
    # As for days: an instant is ISO 8601 text, not a number of seconds.
    if isinstance(value, (int, float)):
        raise ValueError("must be an ISO 8601 date and time with a UTC offset")
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day_only)]
DueAt = Annotated[AwareDatetime, BeforeValidator(_iso_time_only), AfterValidator(_as_utc)]


class Neighbours(BaseModel):
    """Where a move puts a task or a list among its siblings: right after `after_id`, right
    before `before_id`, or first when neither is sent (both: 422)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"not": {"required": ["after_id", "before_id"]}}
    )

    after_id: RecordId | None = None
    before_id: RecordId | None = None

    @model_validator(mode="after")
    def _one_neighbour(self) -> Self:
        if {"after_id", "before_id"} <= self.model_fields_set:
            raise ValueError("send after_id or before_id, not both")
        return self
