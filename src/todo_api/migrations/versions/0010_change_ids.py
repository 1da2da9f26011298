"""One change log, written once: a change's id is its position, and nothing numbers it later.

The pending table and the per-user heads go; every change moves into the new `change` table,
each user's in the order of their log. Cursors issued before are of another log (a new epoch):
their clients are told to list again (410).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The writing transaction takes its id before the change takes its number, so that a reader
# waiting for every transaction older than a number waits for that number's (services/changes.py).
ID_DEFAULT = "CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('change_id_seq') END"


def _what_changed() -> list[sa.Column[object]]:
    return [
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    ]


def _number_pending() -> None:
    # What 0009's downgrade does: the pending changes join their users' logs.
    op.execute(
        "INSERT INTO change_head (user_id, seq, epoch) "
        "SELECT DISTINCT user_id, 0, 1 FROM change_pending "
        "WHERE user_id NOT IN (SELECT user_id FROM change_head)"
    )
    op.execute(
        "INSERT INTO change (user_id, seq, type, task_id, task, at) "
        "SELECT p.user_id, h.seq + (SELECT count(*) FROM change_pending q "
        "WHERE q.user_id = p.user_id AND q.id <= p.id), p.type, p.task_id, p.task, p.at "
        "FROM change_pending p JOIN change_head h ON h.user_id = p.user_id"
    )
    op.execute("DELETE FROM change_pending")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _number_pending()
    op.drop_index("ix_change_pending_user_id", table_name="change_pending")
    op.drop_table("change_pending")
    op.drop_index("ix_change_at", table_name="change")
    op.rename_table("change", "change_0009")
    if postgresql:
        op.execute("ALTER TABLE change_0009 RENAME CONSTRAINT change_pkey TO change_0009_pkey")
        op.execute("CREATE SEQUENCE change_id_seq AS bigint")
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "change",
        sa.Column(
            "id",
            id_type,
            primary_key=True,
            server_default=sa.text(ID_DEFAULT) if postgresql else None,
        ),
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        *_what_changed(),
        sqlite_autoincrement=True,
    )
    op.execute(
        "INSERT INTO change (id, user_id, type, task_id, task, at) "
        "SELECT row_number() OVER (ORDER BY user_id, seq), user_id, type, task_id, task, at "
        "FROM change_0009"
    )
    if postgresql:
        op.execute("ALTER SEQUENCE change_id_seq OWNED BY change.id")
        op.execute("SELECT setval('change_id_seq', max(id)) FROM change HAVING max(id) IS NOT NULL")
    # No index on `at`: ids follow time, and the purge takes the oldest ids first.
    op.create_index("ix_change_user_id_id", "change", ["user_id", "id"])
    op.drop_table("change_0009")
    op.drop_table("change_head")
    op.create_table(
        "change_log",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("purged_through", sa.BigInteger(), nullable=False),
    )
    epoch = secrets.randbelow(2**32 - 1) + 1
    op.execute(f"INSERT INTO change_log (epoch, purged_through) VALUES ({epoch}, 0)")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_table("change_log")
    op.create_table(
        "change_head",
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
    )
    op.drop_index("ix_change_user_id_id", table_name="change")
    op.rename_table("change", "change_0010")
    if postgresql:
        op.execute("ALTER TABLE change_0010 RENAME CONSTRAINT change_pkey TO change_0010_pkey")
    op.create_table(
        "change",
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        *_what_changed(),
    )
    op.execute(
        "INSERT INTO change (user_id, seq, type, task_id, task, at) "
        "SELECT user_id, row_number() OVER (PARTITION BY user_id ORDER BY id), type, task_id, "
        "task, at FROM change_0010"
    )
    op.execute(
        "INSERT INTO change_head (user_id, seq, epoch) "
        "SELECT user_id, max(seq), 1 FROM change GROUP BY user_id"
    )
    op.drop_table("change_0010")
    op.create_index("ix_change_at", "change", ["at"])
    op.create_table(
        "change_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "user_id", sa.Text(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        *_what_changed(),
    )
    op.create_index("ix_change_pending_user_id", "change_pending", ["user_id"])
