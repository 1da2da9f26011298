"""PostgreSQL: Core statements compiled once by SQLAlchemy, run straight on asyncpg's pool."""

import asyncio
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from todo_api.core.config import Settings
from todo_api.core.database.base import Database, IntegrityViolation, Params, Row
from todo_api.core.database.urls import DatabaseTarget
from todo_api.core.errors import DatabaseConflict, DatabaseUnavailable

_PG_DIALECT = make_url("postgresql+asyncpg://").get_dialect()()
CONNECTION_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    # The server refuses one more session (max_connections, a role's or a pooler's limit).
    asyncpg.TooManyConnectionsError,
    # What a connection the server dropped mid-operation can raise instead (see _run_on).
    asyncpg.InternalClientError,
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    def args(self, params: Params) -> list[Any]:
        if params:
            return [params[n] if n in params else self.defaults[n] for n in self.names]
        return [self.defaults[n] for n in self.names]


# Statements built once at import time compile once; per-request ones are dropped with them.
_compiled_statements: "weakref.WeakKeyDictionary[ClauseElement, _Compiled]" = (
    weakref.WeakKeyDictionary()
)


def _compile(statement: ClauseElement) -> _Compiled:
    compiled = _compiled_statements.get(statement)
    if compiled is None:
        sql = cast(SQLCompiler, statement.compile(dialect=_PG_DIALECT))
        if "__[POSTCOMPILE" in sql.string:
            # IN lists: render them for the values the statement carries.
            options = {"render_postcompile": True}
            sql = cast(SQLCompiler, statement.compile(dialect=_PG_DIALECT, compile_kwargs=options))
        names = tuple(sql.positiontup or ())
        defaults = dict(sql.construct_params(_check=False))
        compiled = _Compiled(sql.string, names, defaults)
        _compiled_statements[statement] = compiled
    return compiled


def unavailable(error: BaseException) -> DatabaseUnavailable:
    """The DatabaseUnavailable a connection failure means."""
    return DatabaseUnavailable(str(error) or type(error).__name__)


def _translate(error: Exception) -> Exception:
    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return IntegrityViolation(str(error))
    if isinstance(error, CONNECTION_ERRORS):
        return unavailable(error)
    if isinstance(error, asyncpg.DeadlockDetectedError):
        return DatabaseConflict(str(error))
    return error


async def _run_on(
    connection: asyncpg.Connection, method: str, compiled: _Compiled, params: Params
) -> Any:
    try:
        return await getattr(connection, method)(compiled.sql, *compiled.args(params))
    except asyncpg.InternalClientError:
        # A session the server terminates (shutdown, crash, pg_terminate_backend) can leave
        # asyncpg's protocol stuck mid-operation (MagicStack/asyncpg#1069); the pool would hand
        # that connection out again and again, so close it for good.
        connection.terminate()
        raise


class PostgresDatabase(Database):
    """PostgreSQL through an asyncpg pool (or one of its connections, inside a transaction)."""

    dialect_name = "postgresql"

    def __init__(
        self,
        pool: asyncpg.Pool,
        connection: asyncpg.Connection | None = None,
        *,
        acquire_timeout: float | None = None,
    ) -> None:
        self._pool = pool
        self._connection = connection
        # When the database stops answering, requests would queue for a pooled connection
        # behind each other's statement timeouts, without end: bound the wait as well.
        self._acquire_timeout = acquire_timeout

    def _acquire(self) -> Any:
        # An idle connection is handed over at once: only a wait for one needs a bound
        # (and asyncio's timeout machinery costs a few percent of a request).
        timeout = None if self._pool.get_idle_size() else self._acquire_timeout
        return self._pool.acquire(timeout=timeout)

    async def _call(self, method: str, statement: ClauseElement, params: Params) -> Any:
        compiled = _compile(statement)
        try:
            if self._connection is not None:
                return await _run_on(self._connection, method, compiled, params)
            async with self._acquire() as connection:
                return await _run_on(connection, method, compiled, params)
        except Exception as error:
            raise _translate(error) from error

    async def _fetch_all(self, statement: ClauseElement, params: Params) -> list[Row]:
        records = await self._call("fetch", statement, params)
        if not records:
            return []
        # The names once, zipped with each record's values: dict(record) looks each name up.
        names = tuple(records[0].keys())
        return [dict(zip(names, record, strict=True)) for record in records]

    async def _fetch_one(self, statement: ClauseElement, params: Params) -> Row | None:
        record = await self._call("fetchrow", statement, params)
        return None if record is None else dict(record)

    async def execute(self, statement: ClauseElement, params: Params = None) -> int:
        status = await self._call("execute", statement, params)
        # asyncpg returns the command tag, e.g. "UPDATE 3" or "INSERT 0 1".
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        if self._connection is not None:
            # Inside a transaction already: a savepoint on its connection, not a second one.
            async with self._connection.transaction():
                yield self
            return
        try:
            async with self._acquire() as connection, connection.transaction():
                yield PostgresDatabase(self._pool, connection)
        except CONNECTION_ERRORS as error:
            raise unavailable(error) from error

    async def close(self) -> None:
        await self._pool.close()


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Skip asyncpg's per-release RESET ALL / UNLISTEN round trip.

    The service never changes session state (no SET, LISTEN or session advisory locks), and
    asyncpg still rolls back any transaction left open before calling this.
    """


def _decode_json(text: str) -> Any:
    # Most tasks have no tags: a list page decodes "[]" per row, and parsing it costs more
    # than the rest of the row's decoding.
    return [] if text == "[]" else json.loads(text)


def _encode_json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(connection: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await connection.set_type_codec(
            json_type, schema="pg_catalog", encoder=_encode_json, decoder=_decode_json
        )


async def open_pool(target: DatabaseTarget, settings: Settings) -> PostgresDatabase:
    """The database on an asyncpg pool (DatabaseUnavailable if PostgreSQL cannot be reached)."""
    try:
        pool = await asyncpg.create_pool(
            **target.asyncpg_arguments(),
            min_size=0,  # connect on first use: the service starts while the database wakes up
            max_size=settings.db_pool_size,
            # Neon suspends idle computes after 5 minutes: close idle connections before that.
            max_inactive_connection_lifetime=settings.db_pool_max_idle_seconds,
            command_timeout=settings.db_statement_timeout_seconds,
            init=_init_connection,
            reset=_keep_session,
        )
    except CONNECTION_ERRORS as error:
        raise unavailable(error) from error
    return PostgresDatabase(pool, acquire_timeout=settings.db_connect_timeout_seconds)
