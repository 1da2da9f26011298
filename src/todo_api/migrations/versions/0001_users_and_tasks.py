"""Users (Better Auth's table shape) and tasks.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Better Auth may have created `user` already when it shares the database: leave it alone.
    if not sa.inspect(op.get_bind()).has_table("user"):
        op.create_table(
            "user",
            sa.Column("id", sa.Text(), primary_key=True),
            sa.Column("name", sa.Text(), nullable=False),
            sa.Column("email", sa.Text(), nullable=False, unique=True),
            sa.Column("emailVerified", sa.Boolean(), nullable=False),
            sa.Column("image", sa.Text(), nullable=True),
            sa.Column("createdAt", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updatedAt", sa.DateTime(timezone=True), nullable=False),
        )
    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Text(),
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_user_id_id", "task", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_task_user_id_id", table_name="task")
    op.drop_table("task")
    # `user` is shared with Better Auth and may hold its users: never dropped here.
