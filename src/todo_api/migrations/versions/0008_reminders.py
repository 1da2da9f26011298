"""Reminders: on the task (as clients see them, and when the next is due), and the outbox of
reminder emails.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")
HAS_REMINDER = sa.text("next_reminder_at IS NOT NULL")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("task") as task:
        task.add_column(sa.Column("reminders", JSON_VALUE, server_default="[]", nullable=False))
        task.add_column(sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_task_next_reminder_at",
        "task",
        ["next_reminder_at"],
        postgresql_where=HAS_REMINDER,
        sqlite_where=HAS_REMINDER,
    )
    op.create_table(
        "reminder_email",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "task_id", sa.Integer(), sa.ForeignKey("task.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reminder_email_task_id", "reminder_email", ["task_id"])
    op.create_index(
        "ix_reminder_email_due",
        "reminder_email",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_table("reminder_email")
    op.drop_index("ix_task_next_reminder_at", table_name="task")
    with op.batch_alter_table("task") as task:
        task.drop_column("next_reminder_at")
        task.drop_column("reminders")
