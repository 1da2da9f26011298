"""The reminder emails' outbox."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from todo_api.core.clock import utcnow
from todo_api.core.database import UTCDateTime


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
    # Whom it goes to: who set the task's reminders (None: its owner, as before lists were
    # shared).
    recipient: str | None = Field(default=None, sa_type=Text)
    # Fired well after it was due (every process was down): the email says so.
    late: bool = Field(default=False)
    # pending → sent, or failed once every attempt has.
    status: str = Field(default="pending", sa_type=String(10))
    attempts: int = Field(default=0, sa_type=Integer)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
