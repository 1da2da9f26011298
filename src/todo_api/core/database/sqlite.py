"""SQLite, the embedded default: Core statements through SQLAlchemy's async engine."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ClauseElement, Executable

from todo_api.core.database.base import Database, IntegrityViolation, Params, Row
from todo_api.core.errors import DatabaseUnavailable


class SQLiteDatabase(Database):
    """The embedded SQLite file, through SQLAlchemy's async engine."""

    dialect_name = "sqlite"

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection | None = None) -> None:
        self._engine = engine
        self._connection = connection

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        if self._connection is not None:
            yield self._connection
            return
        try:
            async with self._engine.begin() as connection:
                yield connection
        except exc.IntegrityError as error:
            raise IntegrityViolation(str(error.orig)) from error
        except exc.OperationalError as error:
            raise DatabaseUnavailable(str(error.orig)) from error

    async def _run(self, statement: ClauseElement, params: Params) -> Any:
        async with self._connect() as connection:
            try:
                result = await connection.execute(
                    cast(Executable, statement), dict(params) if params else None
                )
            except exc.IntegrityError as error:
                raise IntegrityViolation(str(error.orig)) from error
            if result.returns_rows:
                return [dict(row) for row in result.mappings().all()]
            return result.rowcount

    async def _fetch_all(self, statement: ClauseElement, params: Params) -> list[Row]:
        rows: list[Row] = await self._run(statement, params)
        return rows

    async def _fetch_one(self, statement: ClauseElement, params: Params) -> Row | None:
        rows = await self._fetch_all(statement, params)
        return rows[0] if rows else None

    async def execute(self, statement: ClauseElement, params: Params = None) -> int:
        count: int = await self._run(statement, params)
        return count

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        if self._connection is not None:
            yield self  # already in one: SQLite's writes are serialised anyway
            return
        async with self._connect() as connection:
            yield SQLiteDatabase(self._engine, connection)

    async def close(self) -> None:
        await self._engine.dispose()


def configure_connection(dbapi_connection: Any, _record: object) -> None:
    """What every new SQLite connection needs: foreign keys enforced, WAL journaling."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
