"""How many members each list has (`task_list.member_count`): a write to an unshared list's
task learns it has no one else to tell from the row it holds, without reading `list_member`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "task_list",
        sa.Column("member_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE task_list SET member_count = "
        "(SELECT count(*) FROM list_member WHERE list_member.list_id = task_list.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("task_list") as task_list:
        task_list.drop_column("member_count")
