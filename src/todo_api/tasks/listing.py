"""A task listing's query (filters, order, page) and the cursor that carries a page's end."""

import base64
import binascii
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from todo_api.core.fields import MAX_ID
from todo_api.tasks.fields import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    TAGS_PER_TASK,
    TITLE_MAX_LENGTH,
    IsoDay,
    SearchText,
    Tag,
)
from todo_api.tasks.schemas import PRIORITIES, Priority

_POSITION = re.compile(r"[0-9A-Za-z]{1,64}")


class StatusFilter(StrEnum):
    """Which tasks a listing returns."""

    all = "all"
    pending = "pending"
    completed = "completed"


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
    # Not `title`: that would hide str.title.
    title_asc = "title"
    title_desc = "-title"
    # The manual order (among a list's or a parent's tasks: filter by `list_id`, `parent_id`).
    position = "position"
    position_desc = "-position"

    @property
    def field(self) -> str:
        """The column sorted on."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the order is reversed."""
        return self.value.startswith("-")


class Cursor(BaseModel):
    """Where a page ended: the sort, the last task's sort key and its id (opaque to clients)."""

    sort: str
    key: int | str | None = None
    id: Annotated[int, Field(ge=0, le=MAX_ID)]

    def encode(self) -> str:
        """The URL-safe token clients pass back as `cursor`."""
        return base64.urlsafe_b64encode(self.model_dump_json().encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """The cursor a token stands for; ValueError if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return cls.model_validate_json(raw)
        except (ValueError, binascii.Error):
            raise ValueError("is not a cursor this service issued") from None


class TaskListQuery(BaseModel):
    """Filters, order and page of a task listing (all optional)."""

    model_config = ConfigDict(extra="ignore")

    list_id: Annotated[int, Field(ge=1, le=MAX_ID)] | Literal["inbox"] | None = Field(
        None, description="Only the tasks of this list, or of the Inbox (`inbox`)."
    )
    parent_id: Annotated[int, Field(ge=1, le=MAX_ID)] | Literal["none"] | None = Field(
        None, description="Only the subtasks of this task, or only top-level tasks (`none`)."
    )
    status: StatusFilter | None = None
    status_filter: StatusFilter | None = Field(
        None, description="Older spelling of `status`.", json_schema_extra={"deprecated": True}
    )
    priority: list[Priority] = Field([], description="Any of these (repeatable).")
    tag: list[Tag] = Field(
        [], max_length=TAGS_PER_TASK, description="All of these, ignoring case (repeatable)."
    )
    due_before: IsoDay | None = Field(None, description="Due strictly before this day.")
    due_after: IsoDay | None = Field(None, description="Due strictly after this day.")
    overdue: bool | None = None
    q: SearchText | None = Field(None, description="Case-insensitive text in title or description.")
    sort: TaskSort | None = Field(None, description="Default: creation order (by id).")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[A-Za-z0-9_-]+$")
        ]
        | None
    ) = Field(None, description='From the previous page\'s `Link: <…>; rel="next"` header.')
    offset: int | None = Field(None, ge=0, le=MAX_ID)
    count: bool = Field(False, description="Send `X-Total-Count` even when it costs a query.")

    @property
    def effective_status(self) -> StatusFilter:
        """`status`, or its older spelling, or all."""
        return self.status or self.status_filter or StatusFilter.all

    @property
    def sort_name(self) -> str:
        """The order as the cursor records it: `id` for the default."""
        return self.sort.value if self.sort else "id"

    @property
    def is_default(self) -> bool:
        """No filter but status, default order: the fast, prebuilt listing."""
        return not (
            self.list_id
            or self.parent_id
            or self.priority
            or self.tag
            or self.due_before
            or self.due_after
            or self.overdue is not None
            or self.q
            or self.sort
            or self.offset
        )

    @property
    def sees_shared(self) -> bool:
        """Whether the listing spans the lists shared with the caller, not one list (or the
        Inbox) or one parent's subtasks."""
        return self.list_id is None and self.parent_id in (None, "none")

    @property
    def is_list_order(self) -> bool:
        """One list's (or the Inbox's) tasks in their manual order, at most a status filter and
        top-level only: the other prebuilt listing."""
        return (
            self.list_id is not None
            and self.parent_id in (None, "none")
            and self.sort is TaskSort.position
            and not (
                self.priority
                or self.tag
                or self.due_before
                or self.due_after
                or self.overdue is not None
                or self.q
                or self.offset
            )
        )

    def position(self) -> Cursor | None:
        """The decoded cursor, if any (validated with the query)."""
        return Cursor.decode(self.cursor) if self.cursor else None

    @model_validator(mode="after")
    def _check_paging(self) -> Self:
        if self.cursor is not None:
            if self.offset is not None:
                raise ValueError("send either cursor or offset, not both")
            position = self.position()
            assert position is not None
            if position.sort != self.sort_name:
                raise ValueError("the cursor belongs to another sort order")
            if not _is_sort_key(self.sort.field if self.sort else "id", position.key):
                raise ValueError("is not a cursor this service issued")
        return self


def _is_sort_key(field: str, key: object) -> bool:
    """Whether a cursor's key is a value of the column it sorts on (cursors can be forged)."""
    if field == "id":
        return key is None
    if field == "priority":
        return type(key) is int and 0 <= key < len(PRIORITIES)
    if not isinstance(key, str) or "\x00" in key:
        return False
    if field == "position":
        return bool(_POSITION.fullmatch(key))
    try:
        if field == "due_date":
            date.fromisoformat(key)
        elif field in ("created_at", "updated_at"):
            moment = datetime.fromisoformat(key)
            return moment.tzinfo is not None and moment.astimezone(UTC) is not None
    except (ValueError, OverflowError):
        return False
    return len(key) <= TITLE_MAX_LENGTH
