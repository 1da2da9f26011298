"""Pending changes: writes append their changes here, and the sequencer numbers them into each
user's log after they commit (so that one user's writes no longer commit one at a time).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "user_id",
            sa.Text(),
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_change_pending_user_id", "change_pending", ["user_id"])


def downgrade() -> None:
    # Number what is pending first: the log must not lose a committed change.
    op.execute(
        "INSERT INTO change_head (user_id, seq, epoch) "
        "SELECT DISTINCT user_id, 0, 1 FROM change_pending "
        "WHERE user_id NOT IN (SELECT user_id FROM change_head)"
    )
    op.execute(
        "INSERT INTO change (user_id, seq, type, task_id, task, at) "
        "SELECT p.user_id, h.seq + (SELECT count(*) FROM change_pending q "
        "WHERE q.user_id = p.user_id AND q.id <= p.id), p.type, p.task_id, p.task, p.at "
        "FROM change_pending p JOIN change_head h ON h.user_id = p.user_id"
    )
    op.execute(
        "UPDATE change_head SET seq = seq + (SELECT count(*) FROM change_pending p "
        "WHERE p.user_id = change_head.user_id)"
    )
    op.drop_index("ix_change_pending_user_id", table_name="change_pending")
    op.drop_table("change_pending")
