"""Own accounts' addresses move from `user.email` to `credential.email`.

An address nobody verified must not hold the shared `user.email`, where Better Auth's user who
really owns it would be blocked or shown a placeholder: unverified own accounts get the
undeliverable placeholder there (as users whose token has no email do).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credential") as credential:
        credential.add_column(sa.Column("email", sa.Text(), nullable=True))
    op.execute(
        'UPDATE credential SET email = (SELECT email FROM "user" WHERE id = credential.user_id)'
    )
    op.execute(
        "UPDATE \"user\" SET email = id || '@users.invalid' "
        'WHERE NOT "emailVerified" AND id IN (SELECT user_id FROM credential)'
    )
    with op.batch_alter_table("credential") as credential:
        credential.alter_column("email", existing_type=sa.Text(), nullable=False)
        credential.create_unique_constraint("uq_credential_email", ["email"])


def downgrade() -> None:
    op.execute(
        'UPDATE "user" SET email = (SELECT email FROM credential WHERE user_id = "user".id) '
        "WHERE id IN (SELECT user_id FROM credential) AND email LIKE '%@users.invalid'"
    )
    with op.batch_alter_table("credential") as credential:
        credential.drop_constraint("uq_credential_email", type_="unique")
        credential.drop_column("email")
