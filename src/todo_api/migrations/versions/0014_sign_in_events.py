"""Sign-in throttling without Redis counts in the database: a row per failed sign-in (and
sign-up) and counter key, so that every worker and replica shares the count.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_event_key_at", "sign_in_event", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_event_key_at", table_name="sign_in_event")
    op.drop_table("sign_in_event")
