"""The MCP tools' arguments: each field type the REST API validates with, and a description
an assistant reads."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from todo_api.core.fields import json_integer
from todo_api.tasks import (
    Description,
    DueAt,
    Interval,
    IsoDay,
    Priority,
    Recurrence,
    Tags,
    Title,
)

UserId = Annotated[
    str | None,
    Field(
        description="Optional; only for clients that send one. Must be the signed-in user's id "
        "(whose tasks are used is decided by the access token, never by this argument)."
    ),
]
TaskId = Annotated[
    int,
    Field(description="The task's id, as list_tasks or search_tasks give it."),
    BeforeValidator(json_integer),
]
TitleArg = Annotated[Title, Field(description="What to do, in a few words (1-200 characters).")]
DescriptionArg = Annotated[
    Description | None, Field(description="Longer notes (up to 1000 characters).")
]
PriorityArg = Annotated[
    Priority | None, Field(description="How important the task is; `none` by default.")
]
DueDateArg = Annotated[
    IsoDay | None, Field(description="The day the task is due, YYYY-MM-DD (due all that day).")
]
DueAtArg = Annotated[
    DueAt | None,
    Field(
        description="The exact time the task is due, ISO 8601 with a UTC offset "
        "(2026-03-01T17:00:00+01:00); its UTC day becomes due_date."
    ),
]
TagsArg = Annotated[Tags | None, Field(description='Labels, e.g. ["work", "errands"].')]
RecurrenceArg = Annotated[
    Recurrence | None,
    Field(description="Repeat the task: completing it creates the next occurrence."),
]
IntervalArg = Annotated[
    Interval | None, Field(description="Every N days/weeks/months/years (with recurrence).")
]
Clearable = Literal["description", "priority", "due_date", "due_at", "tags", "recurrence"]
ListArg = Annotated[
    int | str | None,
    Field(description="A list: its id or its name (as list_lists gives them), or `inbox`."),
]
