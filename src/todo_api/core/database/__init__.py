"""The database: one `Database` interface over PostgreSQL (asyncpg) and SQLite (SQLAlchemy),
opened from DATABASE_URL, migrated with Alembic, and written through units of work that log
their changes (`writes`)."""

from todo_api.core.database.base import Database, IntegrityViolation, Params, Row, Rows
from todo_api.core.database.columns import JSONValue, PositionKey, UTCDateTime, table_of
from todo_api.core.database.connect import (
    check_connection,
    create_engine,
    open_database,
    target_of,
)
from todo_api.core.database.diagnostics import connection_failure
from todo_api.core.database.migrations import (
    head_revision,
    include_in_comparison,
    schema_revision,
    upgrade_schema,
)
from todo_api.core.database.urls import DatabaseTarget, database_target
from todo_api.core.database.writes import (
    Audience,
    Change,
    ChangeSink,
    NewRecord,
    Store,
    UnitOfWork,
)

__all__ = [
    "Audience",
    "Change",
    "ChangeSink",
    "Database",
    "DatabaseTarget",
    "IntegrityViolation",
    "JSONValue",
    "NewRecord",
    "Params",
    "PositionKey",
    "Row",
    "Rows",
    "Store",
    "UTCDateTime",
    "UnitOfWork",
    "check_connection",
    "connection_failure",
    "create_engine",
    "database_target",
    "head_revision",
    "include_in_comparison",
    "open_database",
    "schema_revision",
    "table_of",
    "target_of",
    "upgrade_schema",
]
