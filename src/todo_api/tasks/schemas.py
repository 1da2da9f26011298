"""A task as clients send it (create, PUT, PATCH, bulk) and see it (`TaskRead`, its change)."""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    computed_field,
    model_validator,
)

from todo_api.core.fields import MAX_ID, RecordId, json_integer, json_true
from todo_api.sync import change_model
from todo_api.tasks.events import KIND, TaskEvent
from todo_api.tasks.fields import (
    MAX_PAGE_SIZE,
    Description,
    DueAt,
    Interval,
    IsoDay,
    Neighbours,
    Tags,
    Title,
)
from todo_api.tasks.models import TaskFields
from todo_api.tasks.reminders import (
    MAX_BEFORE_MINUTES,
    MAX_REMINDERS_PER_TASK,
    MissingDueTime,
    ReminderSpec,
)

# The most tasks one bulk call touches (its transaction locks them all).
MAX_BULK_TASKS = MAX_PAGE_SIZE


class Priority(StrEnum):
    """How important a task is; stored as its rank so that it sorts."""

    none = "none"
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        """The stored number: 0 for none up to 3 for high."""
        return _RANKS[self]


# The priorities by rank: a stored number is its index here.
PRIORITIES = tuple(Priority)
_RANKS = {priority: rank for rank, priority in enumerate(PRIORITIES)}


class Recurrence(StrEnum):
    """How often a recurring task comes back once completed."""

    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    yearly = "yearly"


class ReminderIn(BaseModel):
    """A reminder to set: `{"at": <date-time with offset>}` or `{"before_minutes": N}` (before
    the task's `due_at`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["at"]}, {"required": ["before_minutes"]}]},
    )

    at: DueAt | None = None
    before_minutes: (
        Annotated[int, Field(ge=0, le=MAX_BEFORE_MINUTES), BeforeValidator(json_integer)] | None
    ) = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.at is None) == (self.before_minutes is None):
            raise ValueError("a reminder has either `at` or `before_minutes`")
        return self

    def spec(self) -> ReminderSpec:
        """The reminder as the service sets it."""
        return ReminderSpec(self.at, self.before_minutes)


Reminders = Annotated[list[ReminderIn], Field(max_length=MAX_REMINDERS_PER_TASK)]


class ReminderRead(BaseModel):
    """A task's reminder: as set, when it goes off, and when it did (`late` if long after)."""

    at: datetime | None
    before_minutes: int | None
    fire_at: datetime
    fired_at: datetime | None
    late: bool


class _Due(BaseModel):
    """The due-date model: `due_date` is the day; `due_at`, when set, the exact instant.

    Sending `due_at` sets `due_date` to its UTC day; sending `due_date` without `due_at` makes
    the task due that whole day (any `due_at` is cleared).
    """

    due_date: IsoDay | None = None
    due_at: DueAt | None = None

    @model_validator(mode="after")
    def _due_date_follows_due_at(self) -> Self:
        if self.due_at is not None:
            utc_day = self.due_at.date()
            if "due_date" in self.model_fields_set and self.due_date != utc_day:
                raise ValueError("due_date must be the UTC day of due_at (or be left out)")
            self.due_date = utc_day
        return self

    def _due_changes(self) -> dict[str, Any]:
        """The due fields a write changes: a sent `due_at` sets both; a sent `due_date` alone
        makes the task due that whole day; a null `due_at` clears only the time."""
        sent = self.model_fields_set
        if self.due_at is not None:
            return {"due_at": self.due_at, "due_date": self.due_date}
        if "due_date" in sent:
            return {"due_date": self.due_date, "due_at": None}
        if "due_at" in sent:
            return {"due_at": None}
        return {}


class TaskCreate(_Due):
    """A new task, last in its list (or under its parent). Unknown fields are ignored."""

    title: Title
    description: Description | None = None
    # Strict: the schema says boolean, so 0, 1 or "yes" are refused rather than guessed at.
    completed: StrictBool = False
    priority: Priority = Priority.none
    tags: Tags = Field(default_factory=list)
    recurrence: Recurrence | None = None
    recurrence_interval: Interval = 1
    reminders: Reminders = Field(default_factory=list)
    list_id: RecordId | None = Field(None, description="Its list; null or absent: the Inbox.")
    parent_id: RecordId | None = Field(
        None, description="The task it is a subtask of (in the same list; its list if absent)."
    )

    @model_validator(mode="after")
    def _relative_reminders_need_due_at(self) -> Self:
        if self.due_at is None and any(r.before_minutes is not None for r in self.reminders):
            raise ValueError(str(MissingDueTime()))
        return self


_MOVED_BY_WRITE = (
    "Sent with another value than the task has: the task (and its subtasks) moves there, last "
    "(`list_id` null: the Inbox; `parent_id` null: the top of the list)."
)


class TaskUpdate(_Due):
    """PUT: fields left out stay as they are. `null` clears a field a task may hold as null
    (`description`, `due_date`, `due_at`, `recurrence`), as a frontend sends when the user
    empties a box; on the others (`title`, `completed`, `priority`, `tags`,
    `recurrence_interval`) it keeps the guidelines' meaning: unchanged."""

    title: Title | None = None
    description: Description | None = None
    completed: StrictBool | None = None
    priority: Priority | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: Interval | None = None
    reminders: Reminders | None = Field(None, description="Replaces the list when sent.")
    list_id: RecordId | None = Field(None, description=_MOVED_BY_WRITE)
    parent_id: RecordId | None = Field(None, description=_MOVED_BY_WRITE)

    def changes(self) -> dict[str, Any]:
        """The fields to write: null `due_date` clears the due date altogether, null `due_at`
        only the time (as PATCH does); null `list_id` is the Inbox, null `parent_id` the top
        of the list."""
        sent = self.model_fields_set
        changes = self.model_dump(exclude_none=True, exclude={"due_date", "due_at", "reminders"})
        changes |= {name: None for name in _CLEARED_BY_NULL & sent if getattr(self, name) is None}
        if self.reminders is not None:
            changes["reminders"] = [reminder.spec() for reminder in self.reminders]
        return changes | self._due_changes()


# What PUT clears when sent as null (the due date's two fields are handled together).
_CLEARED_BY_NULL = frozenset({"description", "recurrence", "list_id", "parent_id"})


# A field that may be left out but not sent as null: absent, it reads as None.
_ABSENT: Any = None


class TaskPatch(_Due):
    """PATCH, JSON merge semantics (RFC 7396): absent fields are untouched, null clears one."""

    # Not nullable: a task always has a title and a state (absent is fine: unchanged).
    title: Title = _ABSENT
    description: Description | None = None
    completed: StrictBool = _ABSENT
    priority: Priority | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: Interval | None = None
    reminders: Reminders | None = Field(None, description="Replaces the list; null clears it.")
    list_id: RecordId | None = Field(None, description=_MOVED_BY_WRITE)
    parent_id: RecordId | None = Field(None, description=_MOVED_BY_WRITE)

    def changes(self) -> dict[str, Any]:
        """The fields to write: null priority, tags and interval fall back to their defaults;
        null `due_date` clears the due date altogether, null `due_at` only the time."""
        sent = self.model_fields_set
        changes = self.model_dump(include=sent - {"due_date", "due_at", "reminders"})
        if "reminders" in sent:
            changes["reminders"] = [reminder.spec() for reminder in self.reminders or []]
        if changes.get("priority", Priority.none) is None:
            changes["priority"] = Priority.none
        if "tags" in changes and changes["tags"] is None:
            changes["tags"] = []
        if "recurrence_interval" in changes and changes["recurrence_interval"] is None:
            changes["recurrence_interval"] = 1
        return changes | self._due_changes()


def _priority_from_rank(value: object) -> object:
    # Rows carry the stored rank; clients see the name.
    return PRIORITIES[value] if isinstance(value, int) else value


def is_overdue(
    completed: bool, due_at: datetime | None, due_date: date | None, now: datetime
) -> bool:
    """Pending and past due: past `due_at` if set, else past the end of `due_date` (UTC)."""
    if completed:
        return False
    if due_at is not None:
        return due_at < now
    return due_date is not None and due_date < now.date()


class TaskRead(TaskFields):
    """A task as clients see it. `version` changes with every write (the ETag carries it)."""

    id: int
    priority: Annotated[Priority, BeforeValidator(_priority_from_rank)] = Priority.none
    recurrence: Recurrence | None = None
    reminders: list[ReminderRead] = Field(default_factory=list)

    @computed_field
    def overdue(self) -> bool:
        """Pending and past due: past `due_at` if set, else past the end of `due_date` (UTC)."""
        return is_overdue(self.completed, self.due_at, self.due_date, datetime.now(UTC))


class TaskMove(Neighbours):
    """Where a task goes, with its subtasks: into `list_id` (null: the Inbox; absent: where it
    is) under `parent_id` (null: at the top; absent: under the same parent, or at the top of
    another list), right after its sibling `after_id`, right before `before_id`, or first."""

    list_id: RecordId | None = None
    parent_id: RecordId | None = None


class BulkComplete(BaseModel):
    """Which tasks to complete at once: some `ids`, or `all_pending: true` (exactly one)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["ids"]}, {"required": ["all_pending"]}]}
    )

    ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(json_integer)]],
        Field(min_length=1, max_length=MAX_BULK_TASKS),
    ] = _ABSENT
    all_pending: Annotated[Literal[True], BeforeValidator(json_true)] = _ABSENT

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if (self.ids is None) == (self.all_pending is None):
            raise ValueError("send either `ids` or `all_pending: true`")
        return self


class BulkResult(BaseModel):
    """How many tasks a bulk request changed, and which."""

    count: int
    ids: list[int]


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


# A change to a task, as `/changes`, the event streams and webhooks carry it.
TaskChange = change_model(KIND, TaskRead, TaskEvent)
