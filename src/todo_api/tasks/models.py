"""The tasks' tables (`task`, `idempotency_key`), and the rows the task table returns."""

from datetime import date, datetime
from typing import Any, NotRequired, TypedDict

from sqlalchemy import Date, Index, Integer, SmallInteger, String, Text, text
from sqlmodel import Field, SQLModel

from todo_api.core.clock import utcnow
from todo_api.core.database import JSONValue, PositionKey, UTCDateTime


class TaskFields(SQLModel):
    """A task's fields, declared once: the table (`Task`) stores them and `tasks.schemas.TaskRead`
    shows them, in this order. Each restates only what it holds differently: the table its
    priority (the rank) and reminders (as stored); the view its id (always set), priority (the
    name), recurrence (the enum) and reminders (objects)."""

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    # The list it is in (None: the user's Inbox), and the task it is a subtask of (same list).
    # The service deletes a list's tasks and a task's subtasks itself, each a logged change;
    # the cascades only make sure that nothing is ever left pointing nowhere.
    list_id: int | None = Field(
        default=None, sa_type=Integer, foreign_key="task_list.id", ondelete="CASCADE"
    )
    parent_id: int | None = Field(
        default=None, sa_type=Integer, foreign_key="task.id", ondelete="CASCADE"
    )
    # Its place among its siblings (same list and parent): see core/positions.py.
    position: str = Field(sa_type=PositionKey)
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
    # Up to 5, as clients see them (tasks/reminders.py); the earliest unfired one's time
    # is `next_reminder_at`, which the reminder workers poll.
    reminders: list[Any] = Field(
        default_factory=list, sa_type=JSONValue, sa_column_kwargs={"server_default": "[]"}
    )
    # Its direct subtasks, and how many of them are completed (kept by the service).
    subtask_count: int = Field(default=0, sa_type=Integer, sa_column_kwargs={"server_default": "0"})
    completed_subtask_count: int = Field(
        default=0, sa_type=Integer, sa_column_kwargs={"server_default": "0"}
    )
    # Who added it and who completed it (a shared list's tasks are written by its members
    # too): user ids, kept when that account is gone.
    created_by: str | None = Field(default=None, sa_type=Text)
    completed_by: str | None = Field(default=None, sa_type=Text)


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
        # A list's tasks in their manual order.
        Index("ix_task_user_id_list_id_position", "user_id", "list_id", "position"),
        # A shared list's tasks, for its members' listings (the Inbox's, most tasks, left out:
        # so the planners also know how few tasks one list holds).
        Index(
            "ix_task_list_id_id",
            "list_id",
            "id",
            postgresql_where=text("list_id IS NOT NULL"),
            sqlite_where=text("list_id IS NOT NULL"),
        ),
        # A task's subtasks (and what the database looks for when a parent is deleted).
        Index(
            "ix_task_parent_id",
            "parent_id",
            postgresql_where=text("parent_id IS NOT NULL"),
            sqlite_where=text("parent_id IS NOT NULL"),
        ),
        # What the reminder workers poll: the earliest unfired reminder of every task.
        Index(
            "ix_task_next_reminder_at",
            "next_reminder_at",
            postgresql_where=text("next_reminder_at IS NOT NULL"),
            sqlite_where=text("next_reminder_at IS NOT NULL"),
        ),
        # Deleting a task makes the database find the tasks pointing at it (ON DELETE SET NULL):
        # without this, that is a scan of the whole table per delete. Few tasks have one.
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
    # Who last set its reminders, whom they remind (None: its owner).
    reminders_by: str | None = Field(default=None, sa_type=Text)


class TaskRow(TypedDict):
    """A `task` row as the database layer returns it: the table's columns, by the same names."""

    id: int
    user_id: str
    list_id: int | None
    parent_id: int | None
    position: str
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
    subtask_count: int
    completed_subtask_count: int
    created_by: str | None
    completed_by: str | None
    # Listings select only the columns clients see, so they leave these two out.
    recurrence_anchor: NotRequired[date | None]
    next_reminder_at: NotRequired[datetime | None]
    reminders_by: NotRequired[str | None]


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
    # Keys older than 24 h are ignored, and purged (tasks/idempotency.py).
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
