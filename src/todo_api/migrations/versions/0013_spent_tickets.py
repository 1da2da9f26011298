"""Event stream tickets are single-use: a ticket that opened its stream is kept as spent until
it would have expired anyway.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spent_ticket",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_spent_ticket_expires_at", "spent_ticket", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_spent_ticket_expires_at", table_name="spent_ticket")
    op.drop_table("spent_ticket")
