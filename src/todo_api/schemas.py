"""Request and response bodies: what clients send and what they get back."""

import base64
import binascii
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, TypedDict

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    computed_field,
    model_validator,
)

TITLE_MAX_LENGTH = 200
NAME_MAX_LENGTH = 100
# Argon2 takes any length, but hashing megabytes per request is a denial of service.
PASSWORD_MAX_LENGTH = 128
DESCRIPTION_MAX_LENGTH = 1000
TAG_MAX_LENGTH = 50
TAGS_PER_TASK = 20
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Ids are 32-bit columns: larger ones cannot exist, and PostgreSQL rejects them outright.
MAX_ID = 2**31 - 1


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


# The patterns only tell clients (and schema-driven fuzzers) what the validators above enforce:
# no NUL anywhere, and titles and tags that are not blank once trimmed.
NO_NUL_PATTERN = r"^[^\x00]*$"
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def _trimmed_not_blank(value: str) -> str:
    # Trimmed after the length check: the schema's maxLength counts the text as sent.
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH),
    AfterValidator(_reject_nul),
    AfterValidator(_trimmed_not_blank),
    Field(examples=["Buy milk"], json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
]
Description = Annotated[
    str,
    StringConstraints(max_length=DESCRIPTION_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["Two litres, semi-skimmed"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TAG_MAX_LENGTH),
    AfterValidator(_reject_nul),
    AfterValidator(_trimmed_not_blank),
    Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
]
Tags = Annotated[
    list[Tag],
    # Duplicates are dropped before the count is checked: ["a", "A"] is one tag.
    Field(max_length=TAGS_PER_TASK * 5, examples=[["groceries", "errands"]]),
    AfterValidator(_unique_ignoring_case),
]


def _json_integer(value: object) -> object:
    # JSON Schema's integer is 2 or 2.0; pydantic would also read true as 1 and "2" as 2.
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


# The bounds first, so that the schema keeps them as minimum and maximum.
Interval = Annotated[
    int,
    Field(ge=1, le=1000, description="Every N days/weeks/months/years."),
    BeforeValidator(_json_integer),
]


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
        """The stored number: 0 for none up to 3 for high."""
        return PRIORITIES.index(self)


PRIORITIES = tuple(Priority)


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
        """The column sorted on."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the order is reversed."""
        return self.value.startswith("-")


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


class TaskCreate(_Due):
    """A new task. Unknown fields are ignored."""

    title: Title
    description: Description | None = None
    # Strict: the schema says boolean, so 0, 1 or "yes" are refused rather than guessed at.
    completed: StrictBool = False
    priority: Priority = Priority.none
    tags: Tags = Field(default_factory=list)
    recurrence: Recurrence | None = None
    recurrence_interval: Interval = 1


class TaskUpdate(_Due):
    """PUT, as the guidelines define it: fields left out, or sent as null, stay as they are."""

    title: Title | None = None
    description: Description | None = None
    completed: StrictBool | None = None
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
    """PATCH, JSON merge semantics (RFC 7396): absent fields are untouched, null clears one."""

    # Not nullable: a task always has a title and a state (absent is fine: unchanged).
    title: Title = None  # type: ignore[assignment]
    description: Description | None = None
    completed: StrictBool = None  # type: ignore[assignment]
    priority: Priority | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: Interval | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to write: null priority, tags and interval fall back to their defaults;
        null `due_date` clears the due date altogether, null `due_at` only the time."""
        sent = self.model_fields_set
        changes = self.model_dump(include=sent - {"due_date", "due_at"})
        if changes.get("priority", Priority.none) is None:
            changes["priority"] = Priority.none
        if "tags" in changes and changes["tags"] is None:
            changes["tags"] = []
        if "recurrence_interval" in changes and changes["recurrence_interval"] is None:
            changes["recurrence_interval"] = 1
        if self.due_at is not None:
            changes |= {"due_at": self.due_at, "due_date": self.due_date}
        elif "due_date" in sent:
            changes |= {"due_date": self.due_date, "due_at": None}
        elif "due_at" in sent:
            changes["due_at"] = None
        return changes


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


class TaskRead(BaseModel):
    """A task as clients see it. `version` changes with every write (the ETag carries it)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    priority: Annotated[Priority, BeforeValidator(_priority_from_rank)] = Priority.none
    due_date: date | None = None
    due_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    recurrence: Recurrence | None = None
    recurrence_interval: int = 1
    next_occurrence_id: int | None = None
    version: int = 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        """Pending and past due: past `due_at` if set, else past the end of `due_date` (UTC)."""
        return is_overdue(self.completed, self.due_at, self.due_date, datetime.now(UTC))


class TaskRow(TypedDict):
    """TaskRead's JSON, typed as a task row holds it once `task_json`/`tasks_json` derive the rest.

    Only ever serialised, never validated: the rows come from our own table.
    """

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    priority: str
    due_date: date | None
    due_at: datetime | None
    tags: list[str]
    recurrence: str | None
    recurrence_interval: int
    next_occurrence_id: int | None
    version: int
    overdue: bool


# The stored columns clients see, in TaskRead's order: what a listing selects.
SHOWN_COLUMNS = tuple(name for name in TaskRow.__annotations__ if name != "overdue")
_PRIORITY_NAMES = tuple(priority.value for priority in Priority)
# orjson writes what pydantic writes for TaskRead (UTC as `Z`), five times faster for a page.
_JSON_OPTIONS = orjson.OPT_UTC_Z


def _shown(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    # A whole table row, or a listing's with its sort key: keep what clients see, in order.
    if len(row) != len(SHOWN_COLUMNS):
        row = {name: row[name] for name in SHOWN_COLUMNS}
    row["priority"] = _PRIORITY_NAMES[row["priority"]]
    row["overdue"] = is_overdue(row["completed"], row["due_at"], row["due_date"], now)
    return row


def task_json(row: dict[str, Any]) -> bytes:
    """A task row as the TaskRead JSON that clients get (the row may be changed in place)."""
    return orjson.dumps(_shown(row, datetime.now(UTC)), option=_JSON_OPTIONS)


def tasks_json(rows: list[dict[str, Any]]) -> bytes:
    """Task rows as a JSON array of TaskRead (the rows may be changed in place).

    Rows holding just SHOWN_COLUMNS, in order, are written as they are. FastAPI would build
    and validate a TaskRead per row before serialising it: twice the time for a page of 50.
    """
    now = datetime.now(UTC)
    return orjson.dumps([_shown(row, now) for row in rows], option=_JSON_OPTIONS)


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


SearchText = Annotated[
    str,
    StringConstraints(max_length=TITLE_MAX_LENGTH),
    AfterValidator(_reject_nul),
    AfterValidator(str.strip),
]


class TaskListQuery(BaseModel):
    """Filters, order and page of a task listing (all optional)."""

    model_config = ConfigDict(extra="ignore")

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

    @classmethod
    def openapi_parameters(cls) -> list[dict[str, Any]]:
        """The fields as OpenAPI query parameters (the route parses them itself)."""
        schema = cls.model_json_schema()
        definitions = schema.get("$defs", {})

        def inline(node: Any) -> Any:
            if isinstance(node, dict):
                if "$ref" in node:
                    return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
                return {key: inline(value) for key, value in node.items()}
            if isinstance(node, list):
                return [inline(item) for item in node]
            return node

        parameters = []
        for name, field in inline(schema["properties"]).items():
            description = field.pop("description", None)
            parameter = {"name": name, "in": "query", "required": False, "schema": field}
            if description:
                parameter["description"] = description
            parameters.append(parameter)
        return parameters

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
            self.priority
            or self.tag
            or self.due_before
            or self.due_after
            or self.overdue is not None
            or self.q
            or self.sort
            or self.offset
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
    try:
        if field == "due_date":
            date.fromisoformat(key)
        elif field in ("created_at", "updated_at"):
            moment = datetime.fromisoformat(key)
            return moment.tzinfo is not None and moment.astimezone(UTC) is not None
    except (ValueError, OverflowError):
        return False
    return len(key) <= TITLE_MAX_LENGTH


def _json_boolean(value: object) -> object:
    # A literal `true` would also match 1 and 1.0 (they equal True in Python).
    if not isinstance(value, bool):
        raise ValueError("must be true")
    return value


class BulkComplete(BaseModel):
    """Which tasks to complete at once: some `ids`, or `all_pending: true` (exactly one)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["ids"]}, {"required": ["all_pending"]}]}
    )

    ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]],
        Field(min_length=1, max_length=MAX_PAGE_SIZE),
    ] = None  # type: ignore[assignment]
    all_pending: Annotated[Literal[True], BeforeValidator(_json_boolean)] = None  # type: ignore[assignment]

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
SignInEmail = Annotated[
    str,
    StringConstraints(min_length=1, max_length=320),
    AfterValidator(_reject_nul),
    AfterValidator(_normalise_email),
    Field(examples=["alice@example.com"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(_reject_nul),
    Field(examples=["correct horse battery staple"], json_schema_extra={"pattern": NO_NUL_PATTERN}),
]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(_reject_nul),
    AfterValidator(_trimmed_not_blank),
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


class SignedUp(Token):
    """A new account: its profile and a token to use right away."""

    user: UserRead
