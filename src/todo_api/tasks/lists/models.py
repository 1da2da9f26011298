"""The lists' table (`task_list`), and the rows it returns."""

from datetime import datetime
from typing import NotRequired, TypedDict

from sqlalchemy import Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from todo_api.core.database import PositionKey, UTCDateTime


class ListFields(SQLModel):
    """A list's stored fields, declared once: the table (`TaskList`) stores them and
    `lists.schemas.ListRead` shows them (with its task count), in this order."""

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    name: str = Field(sa_type=String(100))
    color: str | None = Field(default=None, sa_type=String(20))
    # Its place among the user's lists: see core/positions.py.
    position: str = Field(sa_type=PositionKey)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # Bumped by every change: the list's ETag, so that stale writes can be refused.
    version: int = Field(default=1, sa_type=Integer, sa_column_kwargs={"server_default": "1"})


class TaskList(ListFields, table=True):
    """A list of tasks, owned by one user; tasks in no list are in the user's Inbox."""

    __tablename__ = "task_list"
    __table_args__ = (Index("ix_task_list_user_id_position", "user_id", "position"),)

    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    # Its members, the owner left out (kept by joining and leaving, which hold the row): a
    # write to one of its tasks reads the members only when there are some.
    member_count: int = Field(default=0, sa_type=Integer, sa_column_kwargs={"server_default": "0"})


class ListRow(TypedDict):
    """A `task_list` row as the database layer returns it, and how many tasks it holds."""

    id: int
    name: str
    color: str | None
    position: str
    created_at: datetime
    updated_at: datetime
    version: int
    user_id: str
    member_count: int
    # Counted when the list is read to be shown.
    task_count: NotRequired[int]
    # The reader's role in it (`owner` for their own lists), when read for someone.
    role: NotRequired[str]
