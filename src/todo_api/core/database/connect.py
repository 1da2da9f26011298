"""Opening the configured database (migrating it first if asked), and checking it answers."""

import sqlite3
from pathlib import Path

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from todo_api.core.config import ConfigError, Settings
from todo_api.core.database.base import Database
from todo_api.core.database.diagnostics import connection_failure
from todo_api.core.database.migrations import upgrade_schema
from todo_api.core.database.postgres import open_pool
from todo_api.core.database.sqlite import SQLiteDatabase, configure_connection
from todo_api.core.database.urls import DatabaseTarget, database_target


def target_of(settings: Settings) -> DatabaseTarget:
    """The configured database (ConfigError if DATABASE_URL is not one)."""
    return database_target(
        settings.effective_database_url, connect_timeout=settings.db_connect_timeout_seconds
    )


def create_engine(settings: Settings, target: DatabaseTarget | None = None) -> AsyncEngine:
    """A SQLAlchemy engine for the configured database (SQLite queries and all migrations);
    `target`: the settings' database URL, when the caller has already read it."""
    target = target or target_of(settings)
    if target.is_sqlite:
        engine = create_async_engine(
            target.url, connect_args=target.connect_args, echo=settings.sql_echo
        )
        event.listen(engine.sync_engine, "connect", configure_connection)
        return engine
    # Only migrations run through SQLAlchemy on PostgreSQL: no pool to keep.
    return create_async_engine(
        target.url, connect_args=target.connect_args, echo=settings.sql_echo, poolclass=NullPool
    )


async def open_database(settings: Settings, *, migrate: bool) -> Database:
    """Connect to the configured database, first bringing its schema up to date if asked."""
    target = target_of(settings)
    engine = create_engine(settings, target)
    if migrate:
        await upgrade_schema(engine)
    if target.is_sqlite:
        return SQLiteDatabase(engine)
    await engine.dispose()
    return await open_pool(target, settings)


async def check_connection(settings: Settings) -> None:
    """Connect once, before serving: ConfigError or DatabaseUnavailable otherwise, whose
    one-line message names the problem and its fix (and never the password)."""
    target = target_of(settings)
    if target.is_sqlite:
        _check_sqlite_file(target.url.database)
        return
    try:
        connection = await asyncpg.connect(**target.asyncpg_arguments())
    except Exception as error:
        raise connection_failure(error, settings) from None
    await connection.close()


def _check_sqlite_file(database: str | None) -> None:
    if not database or database == ":memory:":
        return
    path = Path(database)
    if not path.parent.is_dir():
        raise ConfigError(
            f"DATABASE_URL names the SQLite file {database}, but the directory "
            f"{path.parent} does not exist: create it, or fix DATABASE_URL"
        )
    if path.is_dir():
        raise ConfigError(f"DATABASE_URL names the SQLite file {database}, but it is a directory")
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as error:
        raise ConfigError(f"Cannot open the SQLite file {database}: {error}") from None
