"""Shared lists: a list's members (`list_member`) and invitations (`list_invitation`); who
created a task and who completed it (existing tasks: their owner, who alone could).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "list_member",
        sa.Column(
            "list_id",
            sa.Integer(),
            sa.ForeignKey("task_list.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_list_member_user_id", "list_member", ["user_id"])
    op.create_table(
        "list_invitation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "list_id",
            sa.Integer(),
            sa.ForeignKey("task_list.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_list_invitation_list_id", "list_invitation", ["list_id"])
    op.add_column("task", sa.Column("created_by", sa.Text(), nullable=True))
    op.add_column("task", sa.Column("reminders_by", sa.Text(), nullable=True))
    op.add_column("reminder_email", sa.Column("recipient", sa.Text(), nullable=True))
    op.add_column("task", sa.Column("completed_by", sa.Text(), nullable=True))
    op.execute("UPDATE task SET created_by = user_id")
    op.execute("UPDATE task SET completed_by = user_id WHERE completed")
    # A shared list's tasks, for its members' listings.
    op.create_index(
        "ix_task_list_id_id",
        "task",
        ["list_id", "id"],
        postgresql_where=sa.text("list_id IS NOT NULL"),
        sqlite_where=sa.text("list_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_task_list_id_id", "task")
    with op.batch_alter_table("reminder_email") as email:
        email.drop_column("recipient")
    with op.batch_alter_table("task") as task:
        task.drop_column("reminders_by")
        task.drop_column("completed_by")
        task.drop_column("created_by")
    op.drop_index("ix_list_invitation_list_id", "list_invitation")
    op.drop_table("list_invitation")
    op.drop_index("ix_list_member_user_id", "list_member")
    op.drop_table("list_member")
