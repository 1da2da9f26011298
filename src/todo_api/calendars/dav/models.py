"""The calendar objects CalDAV clients wrote (`calendar_object`): the name and UID a client
gave a task, and the iCalendar it last sent for it, so that nothing it sent is lost."""

from datetime import datetime
from typing import TypedDict

from sqlalchemy import Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from todo_api.core.database import UTCDateTime

# The longest resource name and UID kept (clients use UUIDs, far shorter).
MAX_NAME_LENGTH = 255


class CalendarObject(SQLModel, table=True):
    """A task as a CalDAV client created or last wrote it. No foreign key to the task: once
    the task is deleted, its row still tells sync reports the name that is gone."""

    __tablename__ = "calendar_object"
    __table_args__ = (
        Index("ix_calendar_object_user_id_name", "user_id", "name", unique=True),
        Index("ix_calendar_object_user_id_uid", "user_id", "uid"),
    )

    task_id: int = Field(
        sa_type=Integer, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    # The task's owner (a shared list's tasks are its owner's).
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    # When the task was created: SQLite may give a new task a deleted one's id.
    task_created: datetime = Field(sa_type=UTCDateTime)
    name: str = Field(sa_type=String(MAX_NAME_LENGTH))
    uid: str = Field(sa_type=String(MAX_NAME_LENGTH))
    ical: str = Field(sa_type=Text)


class ObjectRow(TypedDict):
    """A `calendar_object` row."""

    task_id: int
    user_id: str
    task_created: datetime
    name: str
    uid: str
    ical: str
