"""Task features: priority, due dates, tags, recurrence, completion time, versions; idempotency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")
# Search (`?q=`) uses ILIKE '%…%', which only a trigram index can serve. Not in models.py:
# they exist on PostgreSQL only, and only where the pg_trgm extension can be installed.
TRIGRAM_INDEXES = {"ix_task_title_trgm": "title", "ix_task_description_trgm": "description"}


def upgrade() -> None:
    # Existing rows get the defaults: no priority, no due date, no tags, version 1.
    with op.batch_alter_table("task") as task:
        task.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        task.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False)
        )
        task.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        task.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        task.add_column(sa.Column("tags", JSON_VALUE, server_default="[]", nullable=False))
        task.add_column(sa.Column("recurrence", sa.String(10), nullable=True))
        task.add_column(
            sa.Column("recurrence_interval", sa.Integer(), server_default="1", nullable=False)
        )
        task.add_column(sa.Column("recurrence_anchor", sa.Date(), nullable=True))
        task.add_column(sa.Column("next_occurrence_id", sa.Integer(), nullable=True))
        task.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        task.create_foreign_key(
            "fk_task_next_occurrence_id_task",
            "task",
            ["next_occurrence_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Tasks completed before this migration: their last change is the best completion time.
    op.execute(sa.text("UPDATE task SET completed_at = updated_at WHERE completed"))
    op.create_index("ix_task_user_id_due_date", "task", ["user_id", "due_date"])
    op.create_index("ix_task_user_id_updated_at", "task", ["user_id", "updated_at", "id"])
    op.create_index("ix_task_user_id_priority", "task", ["user_id", "priority", "id"])
    # The ON DELETE SET NULL of next_occurrence_id looks up referencing rows on every delete.
    op.create_index(
        "ix_task_next_occurrence_id",
        "task",
        ["next_occurrence_id"],
        postgresql_where=sa.text("next_occurrence_id IS NOT NULL"),
        sqlite_where=sa.text("next_occurrence_id IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _create_trigram_indexes()

    op.create_table(
        "idempotency_key",
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSON_VALUE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def _create_trigram_indexes() -> None:
    """Trigram indexes for search, when pg_trgm is there or may be installed; else plain scans."""
    bind = op.get_bind()
    available = bind.scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
    )
    if not available:
        logger.warning("pg_trgm is not available: search (?q=) will scan the user's tasks")
        return
    # A savepoint: without the privilege to create it, the rest of the migration still runs.
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as error:
        savepoint.rollback()
        logger.warning("pg_trgm cannot be installed (%s): search will scan", error.orig)
        return
    savepoint.commit()
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(sa.text(f"CREATE INDEX {name} ON task USING gin ({column} gin_trgm_ops)"))


def downgrade() -> None:
    op.drop_table("idempotency_key")
    for name in TRIGRAM_INDEXES:
        op.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
    op.drop_index("ix_task_next_occurrence_id", table_name="task")
    op.drop_index("ix_task_user_id_priority", table_name="task")
    op.drop_index("ix_task_user_id_updated_at", table_name="task")
    op.drop_index("ix_task_user_id_due_date", table_name="task")
    with op.batch_alter_table("task") as task:
        task.drop_constraint("fk_task_next_occurrence_id_task", type_="foreignkey")
        for column in (
            "version",
            "next_occurrence_id",
            "recurrence_anchor",
            "recurrence_interval",
            "recurrence",
            "tags",
            "due_at",
            "due_date",
            "priority",
            "completed_at",
        ):
            task.drop_column(column)
