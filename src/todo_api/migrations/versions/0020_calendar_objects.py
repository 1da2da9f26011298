"""CalDAV's calendar objects (`calendar_object`): the resource name and UID a client gave a
task, and the iCalendar it last sent for it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_object",
        sa.Column("task_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("task_created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("uid", sa.String(255), nullable=False),
        sa.Column("ical", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_calendar_object_user_id_name", "calendar_object", ["user_id", "name"], unique=True
    )
    op.create_index("ix_calendar_object_user_id_uid", "calendar_object", ["user_id", "uid"])


def downgrade() -> None:
    op.drop_index("ix_calendar_object_user_id_uid", "calendar_object")
    op.drop_index("ix_calendar_object_user_id_name", "calendar_object")
    op.drop_table("calendar_object")
