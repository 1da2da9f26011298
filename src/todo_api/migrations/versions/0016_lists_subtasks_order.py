"""Lists, subtasks and manual order: a `task_list` table; a task's `list_id` (null: the Inbox),
`parent_id`, `position` and the counts of its subtasks.

Every task there is keeps its place: its position is an integer key of fractional indexing made
of its id (`e` and five base-62 digits, `f` and six past 62⁵), so existing tasks keep their
creation order, before any task created from now on (whose keys are later times, `i…`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Compared bytewise: PostgreSQL does so only with the "C" collation.
POSITION_KEY = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(column: str, width: int) -> str:
    """SQL for the `width` base-62 digits of an integer column, most significant first."""
    return " || ".join(
        f"substr('{_DIGITS}', ({column} / {62**power}) % 62 + 1, 1)"
        for power in reversed(range(width))
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "task_list",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("color", sa.String(20), nullable=True),
        sa.Column("position", POSITION_KEY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_index("ix_task_list_user_id_position", "task_list", ["user_id", "position"])
    # SQLite cannot add a foreign key to a table: batch mode copies the table there.
    with op.batch_alter_table("task") as task:
        task.add_column(sa.Column("list_id", sa.Integer(), nullable=True))
        task.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        task.add_column(sa.Column("position", POSITION_KEY, server_default="", nullable=False))
        for name in ("subtask_count", "completed_subtask_count"):
            task.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
        task.create_foreign_key(
            "fk_task_list_id_task_list", "task_list", ["list_id"], ["id"], ondelete="CASCADE"
        )
        task.create_foreign_key(
            "fk_task_parent_id_task", "task", ["parent_id"], ["id"], ondelete="CASCADE"
        )
    op.execute(
        "UPDATE task SET position = CASE WHEN id < 916132832 "
        f"THEN 'e' || {_base62('id', 5)} ELSE 'f' || {_base62('id', 6)} END"
    )
    if postgres:
        op.execute("ALTER TABLE task ALTER COLUMN position DROP DEFAULT")
    op.create_index("ix_task_user_id_list_id_position", "task", ["user_id", "list_id", "position"])
    op.create_index(
        "ix_task_parent_id",
        "task",
        ["parent_id"],
        postgresql_where=sa.text("parent_id IS NOT NULL"),
        sqlite_where=sa.text("parent_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_task_parent_id", table_name="task")
    op.drop_index("ix_task_user_id_list_id_position", table_name="task")
    # Lists and subtasks have no place in the older schema: their tasks go back to the Inbox.
    with op.batch_alter_table("task") as task:
        task.drop_constraint("fk_task_parent_id_task", type_="foreignkey")
        task.drop_constraint("fk_task_list_id_task_list", type_="foreignkey")
        for name in (
            "completed_subtask_count",
            "subtask_count",
            "position",
            "parent_id",
            "list_id",
        ):
            task.drop_column(name)
    op.execute("DELETE FROM change WHERE kind <> 'task'")
    op.drop_index("ix_task_list_user_id_position", table_name="task_list")
    op.drop_table("task_list")
