"""Idempotency keys store the id of the task they created, not the whole response; indexes
for purging expired keys and each user's oldest.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("idempotency_key") as keys:
        keys.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
    # Keys still within their 24 hours keep replaying: the id is in the stored response.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE idempotency_key SET task_id = (response->>'id')::integer")
    else:
        op.execute("UPDATE idempotency_key SET task_id = json_extract(response, '$.id')")
    op.execute("DELETE FROM idempotency_key WHERE task_id IS NULL")
    with op.batch_alter_table("idempotency_key") as keys:
        keys.alter_column("task_id", existing_type=sa.Integer(), nullable=False)
        keys.drop_column("response")
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])
    op.create_index(
        "ix_idempotency_key_user_id_created_at", "idempotency_key", ["user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_user_id_created_at", table_name="idempotency_key")
    op.drop_index("ix_idempotency_key_created_at", table_name="idempotency_key")
    # The stored responses are gone: so are the keys that would replay them.
    op.execute("DELETE FROM idempotency_key")
    with op.batch_alter_table("idempotency_key") as keys:
        keys.add_column(sa.Column("response", JSON_VALUE, nullable=False))
        keys.drop_column("task_id")
