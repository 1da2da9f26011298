"""Webhooks that prove they want the events, and deliveries claimed fairly.

A webhook is sent nothing until its receiver has echoed a challenge (`verified_at`); webhooks
made before this revision never did, and wait for `POST …/webhooks/{id}/verify`. Claims go
round the webhooks (`served_at`), a few attempts in flight each (`leased_until`), within a
ceiling per minute (counted on `webhook_attempt` by time).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNVERIFIED = "Made before receivers had to verify: verify it (POST …/webhooks/{id}/verify)"


def upgrade() -> None:
    op.add_column("webhook", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook", sa.Column("verification_error", sa.String(200), nullable=True))
    op.add_column("webhook", sa.Column("served_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text("UPDATE webhook SET verification_error = :reason").bindparams(reason=UNVERIFIED)
    )
    op.add_column(
        "webhook_delivery", sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_webhook_attempt_webhook_id_at", "webhook_attempt", ["webhook_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_attempt_webhook_id_at", table_name="webhook_attempt")
    with op.batch_alter_table("webhook_delivery") as delivery:
        delivery.drop_column("leased_until")
    with op.batch_alter_table("webhook") as webhook:
        webhook.drop_column("served_at")
        webhook.drop_column("verification_error")
        webhook.drop_column("verified_at")
