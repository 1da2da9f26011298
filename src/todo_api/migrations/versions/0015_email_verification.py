"""Own accounts prove their address: a link with a single-use token (only its digest kept),
and when it was opened; until then no reminder is mailed there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "credential", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "email_verification",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_email_verification_user_id", "email_verification", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_email_verification_user_id", table_name="email_verification")
    op.drop_table("email_verification")
    with op.batch_alter_table("credential") as credential:
        credential.drop_column("email_verified_at")
