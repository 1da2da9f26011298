"""Schema migrations: Alembic, on the migrations shipped in the package (`todo_api/migrations`)."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.core.database.base import Database

MIGRATIONS_DIR = Path(__file__).parents[2] / "migrations"
# Any constant works; it only has to be the same for every replica of this service.
MIGRATION_LOCK_ID = 0x70D0_A91

_SCHEMA_REVISION = text("SELECT version_num FROM alembic_version")


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def include_in_comparison(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate's filter: the PostgreSQL-only search indexes (`*_trgm`) live in the
    migrations alone, since a model cannot declare an index that may not exist."""
    return not (type_ == "index" and reflected and (name or "").endswith("_trgm"))


@functools.cache
def head_revision() -> str:
    """The newest revision among the migrations shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


async def schema_revision(db: Database) -> str | None:
    """The revision the database's schema is at, or None if it was never migrated."""
    rows = await db.fetch_all(_SCHEMA_REVISION)
    return rows[0]["version_num"] if rows else None


async def upgrade_schema(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration, one replica at a time."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A transaction-scoped lock also works behind PgBouncer's transaction pooling.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
            )
        await connection.run_sync(_upgrade_to_head)


def _upgrade_to_head(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # pysqlite runs DDL outside any transaction: take SQLite's write lock first, so that a
        # second worker migrating a new file waits for the first, then finds the schema current.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
