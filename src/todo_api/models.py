"""Database tables, and the rows the task table returns. Request and response shapes live in
the `schemas` package."""

from datetime import UTC, date, datetime
from typing import Any, NotRequired, TypedDict

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The table a table model maps (SQLModel leaves `__table__` untyped)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamptz that always comes back timezone-aware, on SQLite too.

    SQLite has no time zones: values are stored as UTC and marked UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class User(SQLModel, table=True):
    """A person, in the exact shape of Better Auth's `user` table so both can share it."""

    __tablename__ = "user"

    id: str = Field(sa_type=Text, primary_key=True)
    name: str = Field(sa_type=Text)
    email: str = Field(sa_type=Text, unique=True)
    email_verified: bool = Field(default=False, sa_column_kwargs={"name": "emailVerified"})
    image: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"name": "createdAt"}
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"name": "updatedAt"}
    )


# JSONB on PostgreSQL (compact, queryable), JSON text on SQLite.
JSONValue = JSON().with_variant(JSONB(), "postgresql")


class TaskFields(SQLModel):
    """A task's fields, declared once: the table (`Task`) stores them and `schemas.tasks.TaskRead`
    shows them, in this order. Each restates only what it holds differently: the table its
    priority (the rank) and reminders (as stored); the view its id (always set), priority (the
    name), recurrence (the enum) and reminders (objects)."""

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    title: str = Field(sa_type=String(200))
    description: str | None = Field(sa_type=String(1000))
    completed: bool
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Stored as its rank, 0 none, 1 low, 2 medium, 3 high (a number, so that sorting by priority
    # is an index scan); clients see its name.
    priority: int | str = Field(
        default=0, sa_type=SmallInteger, sa_column_kwargs={"server_default": "0"}
    )
    due_date: date | None = Field(default=None, sa_type=Date)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tags: list[str] = Field(
        default_factory=list, sa_type=JSONValue, sa_column_kwargs={"server_default": "[]"}
    )
    recurrence: str | None = Field(default=None, sa_type=String(10))
    recurrence_interval: int = Field(
        default=1, sa_type=Integer, sa_column_kwargs={"server_default": "1"}
    )
    # The occurrence that completing this recurring task created, so undoing can remove it.
    next_occurrence_id: int | None = Field(
        default=None, sa_type=Integer, foreign_key="task.id", ondelete="SET NULL"
    )
    # Bumped by every change: the task's ETag, so that stale writes can be refused.
    version: int = Field(default=1, sa_type=Integer, sa_column_kwargs={"server_default": "1"})
    # Up to 5, as clients see them (services/reminders.py); the earliest unfired one's time
    # is `next_reminder_at`, which the reminder workers poll.
    reminders: list[Any] = Field(
        default_factory=list, sa_type=JSONValue, sa_column_kwargs={"server_default": "[]"}
    )


class Task(TaskFields, table=True):
    """A todo item owned by one user."""

    __tablename__ = "task"
    # Every query filters on the owner first, then walks one of these orders page by page
    # (ties broken by id, hence the trailing id). Title/description search indexes are
    # PostgreSQL-only trigram indexes that the migration adds when pg_trgm is available.
    __table_args__ = (
        Index("ix_task_user_id_id", "user_id", "id"),
        Index("ix_task_user_id_due_date", "user_id", "due_date"),
        Index("ix_task_user_id_updated_at", "user_id", "updated_at", "id"),
        Index("ix_task_user_id_priority", "user_id", "priority", "id"),
        # Deleting a task makes the database find the tasks pointing at it (ON DELETE SET NULL):
        # without this, that is a scan of the whole table per delete. Few tasks have one.
        Index(
            "ix_task_next_reminder_at",
            "next_reminder_at",
            postgresql_where=text("next_reminder_at IS NOT NULL"),
            sqlite_where=text("next_reminder_at IS NOT NULL"),
        ),
        Index(
            "ix_task_next_occurrence_id",
            "next_occurrence_id",
            postgresql_where=text("next_occurrence_id IS NOT NULL"),
            sqlite_where=text("next_occurrence_id IS NOT NULL"),
        ),
    )

    priority: int = Field(default=0, sa_type=SmallInteger, sa_column_kwargs={"server_default": "0"})
    reminders: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=JSONValue, sa_column_kwargs={"server_default": "[]"}
    )
    # The series' first due date: monthly from Jan 31 gives Feb 28, then Mar 31 again.
    recurrence_anchor: date | None = Field(default=None, sa_type=Date)
    next_reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TaskRow(TypedDict):
    """A `task` row as the database layer returns it: the table's columns, by the same names.

    Listings select only the columns clients see, so they leave `recurrence_anchor` out.
    """

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    priority: int
    due_date: date | None
    due_at: datetime | None
    tags: list[str]
    recurrence: str | None
    recurrence_interval: int
    next_occurrence_id: int | None
    version: int
    reminders: list[dict[str, Any]]
    recurrence_anchor: NotRequired[date | None]
    # Listings select only the columns clients see, so they leave it out.
    next_reminder_at: NotRequired[datetime | None]


class IdempotencyKey(SQLModel, table=True):
    """The task a POST carrying an `Idempotency-Key` created, for its retries."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        # The global purge of expired keys, and each user's oldest keys past their cap.
        Index("ix_idempotency_key_created_at", "created_at"),
        Index("ix_idempotency_key_user_id_created_at", "user_id", "created_at"),
    )

    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    key: str = Field(sa_type=String(255), primary_key=True)
    request_hash: str = Field(sa_type=String(64))
    status_code: int
    # No foreign key: a retry after the task was deleted must still find its key (and say so).
    task_id: int = Field(sa_type=Integer)
    # Keys older than 24 h are ignored, and purged (services/idempotency.py).
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Credential(SQLModel, table=True):
    """The sign-in of a user who signed up with the service itself (not via Better Auth).

    A table of its own, so Better Auth's `user` columns stay exactly as Better Auth made them.
    The address signed up with lives here, not in `user.email`: nobody has verified it, and in
    the shared table it would take the address from the Better Auth user who really owns it.
    """

    __tablename__ = "credential"

    user_id: str = Field(sa_type=Text, primary_key=True, foreign_key="user.id", ondelete="CASCADE")
    email: str = Field(sa_type=Text, unique=True)
    password_hash: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChangeLog(SQLModel, table=True):
    """The change log's one row: which log it is, and how far the purge has reached."""

    __tablename__ = "change_log"

    # Random, drawn when the log was created: cursors of another database's log get 410.
    epoch: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    # The highest change id retention has deleted: a cursor below it may have lost changes.
    purged_through: int = Field(default=0, sa_type=BigInteger)


class Change(SQLModel, table=True):
    """A write to a task, as its owner's clients replay it (`GET …/changes`).

    `id` is the change's position in the log, one sequence for every user. On PostgreSQL its
    default takes the writing transaction's id before the next number (todo_api/horizon.py
    says why readers need that).
    """

    __tablename__ = "change"
    __table_args__ = (
        # A user's changes in log order. None on `at`: ids follow time, and retention purges
        # the oldest ids first.
        Index("ix_change_user_id_id", "user_id", "id"),
        # Ids never come back, not even the last one after a deletion: a cursor past it would
        # skip the change that reused it.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    type: str = Field(sa_type=String(20))
    task_id: int = Field(sa_type=Integer)
    # The task as clients see it, as JSON text: written once, sent as it is. NULL: deleted.
    task: str | None = Field(default=None, sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)


class Webhook(SQLModel, table=True):
    """A URL of the user's that is sent their changes, signed with its secret."""

    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_user_id_id", "user_id", "id"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    url: str = Field(sa_type=String(2000))
    # One bit per event type (services.webhooks.EVENTS), so the write that queues deliveries
    # picks the subscribed webhooks with one comparison on either database.
    events: int = Field(sa_type=Integer)
    # Kept as issued: signing needs the key itself. Never listed, never logged.
    secret: str = Field(sa_type=Text)
    enabled: bool = Field(default=True)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The position in the owner's change log up to which deliveries are queued: a new webhook
    # starts at the log's head (services/webhook_dispatch.py).
    log_position: int = Field(
        default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"}
    )


class WebhookDelivery(SQLModel, table=True):
    """One event to send to one webhook: the outbox its delivery workers claim rows from."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # What the workers poll: pending rows by when they are due.
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_webhook_id", "webhook_id"),
    )

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    webhook_id: int = Field(sa_type=Integer, foreign_key="webhook.id", ondelete="CASCADE")
    event: str = Field(sa_type=String(30))
    # The `webhook-id` header: the same on every retry, so receivers can drop duplicates.
    message_id: str = Field(sa_type=String(64))
    payload: dict[str, Any] = Field(sa_type=JSONValue)
    # pending → delivered, or failed once every attempt has.
    status: str = Field(default="pending", sa_type=String(10))
    attempts: int = Field(default=0, sa_type=Integer)
    # When a worker may take it: due time, retry time, or the end of a worker's lease on it.
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """What one attempt to deliver got back: a status code, or why there was none."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_webhook_id_id", "webhook_id", "id"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    webhook_id: int = Field(sa_type=Integer, foreign_key="webhook.id", ondelete="CASCADE")
    delivery_id: int = Field(
        sa_type=Integer, foreign_key="webhook_delivery.id", ondelete="CASCADE", index=True
    )
    attempt: int = Field(sa_type=Integer)
    status_code: int | None = Field(default=None, sa_type=Integer)
    error: str | None = Field(default=None, sa_type=String(200))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderEmail(SQLModel, table=True):
    """The email of a fired reminder, waiting to be sent (the mailer's outbox)."""

    __tablename__ = "reminder_email"
    __table_args__ = (
        Index(
            "ix_reminder_email_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    task_id: int = Field(sa_type=Integer, foreign_key="task.id", ondelete="CASCADE", index=True)
    # Fired well after it was due (every process was down): the email says so.
    late: bool = Field(default=False)
    # pending → sent, or failed once every attempt has.
    status: str = Field(default="pending", sa_type=String(10))
    attempts: int = Field(default=0, sa_type=Integer)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
