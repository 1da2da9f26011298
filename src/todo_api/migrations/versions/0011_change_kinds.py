"""A change log for every kind of record: each change names its record's kind and id.

`task_id` and `task` become `record_id` and `data`; `kind` says what they are (every change
logged so far is a task's). Renames and a column with a constant default: no table is copied.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE change RENAME COLUMN task_id TO record_id")
    op.execute("ALTER TABLE change RENAME COLUMN task TO data")
    op.execute("ALTER TABLE change ADD COLUMN kind VARCHAR(20) DEFAULT 'task' NOT NULL")


def downgrade() -> None:
    # Only tasks' changes fit the old shape.
    op.execute("DELETE FROM change WHERE kind <> 'task'")
    op.execute("ALTER TABLE change DROP COLUMN kind")
    op.execute("ALTER TABLE change RENAME COLUMN data TO task")
    op.execute("ALTER TABLE change RENAME COLUMN record_id TO task_id")
