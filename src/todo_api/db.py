"""Database: URL handling, the `Database` the services query through, and schema migrations.

Statements are SQLAlchemy Core, built from the SQLModel tables. On PostgreSQL they are compiled
once by SQLAlchemy and run straight on asyncpg's pool: an ORM session would cost more than the
query itself (see the README's Performance section). On SQLite, the embedded default, they
run through SQLAlchemy.
"""

import asyncio
import json
import logging
import socket
import sqlite3
import ssl
import uuid
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from todo_api.config import ConfigError, Settings
from todo_api.errors import DatabaseConflict, DatabaseUnavailable

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every replica of this service.
MIGRATION_LOCK_ID = 0x70D0_A91

Row = dict[str, Any]
Params = Mapping[str, Any] | None


class IntegrityViolation(Exception):
    """A unique, foreign-key or check constraint refused a write."""


@dataclass(frozen=True)
class DatabaseTarget:
    """A URL people paste, turned into what SQLAlchemy's async drivers accept."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def asyncpg_arguments(self) -> dict[str, Any]:
        """What asyncpg's `connect` and `create_pool` take for this PostgreSQL database."""
        url = self.url
        options = {
            k: v for k, v in self.connect_args.items() if k != "prepared_statement_name_func"
        }
        return {
            "host": url.host,
            "port": url.port,
            "user": url.username,
            "password": url.password,
            "database": url.database,
            **options,
        }


# libpq's sslmode values, as asyncpg's `ssl` argument spells them.
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_TLS_REQUIRED = {"require", "verify-ca", "verify-full"}


_URL_SHAPES = "sqlite:///path/to/todo.db or postgresql://user:password@host:5432/database"
_BAD_PORT = "DATABASE_URL's port must be a number from 1 to 65535"


def database_target(raw_url: str, *, connect_timeout: float = 10.0) -> DatabaseTarget:
    """Map `sqlite:///…`, `postgres://…` and Neon's `postgresql://…?sslmode=…` to async drivers.

    ConfigError's message names what is wrong in one line, never echoing the URL (it may hold
    a password).
    """
    try:
        url = make_url(raw_url)
    except (exc.ArgumentError, ValueError) as error:
        # ArgumentError: unparseable; ValueError: int() of the port failed. Neither message is
        # shown as it is: they may quote the password.
        if "int()" in str(error):
            raise ConfigError(_BAD_PORT) from None
        raise ConfigError(f"DATABASE_URL is not a database URL; expected {_URL_SHAPES}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return DatabaseTarget(url.set(drivername="sqlite+aiosqlite"), {"timeout": connect_timeout})
    if backend not in {"postgres", "postgresql"}:
        raise ConfigError(
            f"DATABASE_URL must start with sqlite:// or postgresql:// (postgres:// works too), "
            f"not {backend}://"
        )
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ConfigError(f"{_BAD_PORT}, not {url.port}")

    query = dict(url.query)
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    sslmode = query.pop("sslmode", None)
    if sslmode is not None:
        if sslmode not in _SSLMODES:
            raise ConfigError(f"DATABASE_URL has an unknown sslmode: {sslmode}")
        connect_args["ssl"] = sslmode
    if application_name := query.pop("application_name", None):
        connect_args["server_settings"] = {"application_name": application_name}
    # asyncpg has no channel binding (TLS already authenticates Neon) and no other libpq options.
    for name in sorted(query):
        if name != "channel_binding":
            logger.warning("Ignoring DATABASE_URL parameter %r (not supported by asyncpg)", name)
    url = url.set(drivername="postgresql+asyncpg", query={})
    if url.host and "-pooler" in url.host:
        # PgBouncer in transaction mode cannot keep prepared statements between transactions.
        url = url.update_query_dict({"prepared_statement_cache_size": "0"})
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
        }
    return DatabaseTarget(url, connect_args)


ChangeListener = Callable[[str], None]


def _tell(listeners: tuple[ChangeListener, ...], users: set[str]) -> None:
    for listener in listeners:
        for user_id in users:
            listener(user_id)


class Database(ABC):
    """Runs Core statements and returns rows as dicts; `transaction()` groups several."""

    dialect_name: str
    # Told, with a user id, once a write to that user's tasks has committed: the log's horizon
    # moves on to cover its changes (todo_api/horizon.py), and the reminder loop looks again.
    write_listeners: tuple[ChangeListener, ...] = ()
    # Told, with a user id, once new changes of that user's are final, below the log's horizon
    # (the live event streams and the webhooks follow the log).
    change_listeners: tuple[ChangeListener, ...] = ()
    # Whether writes log their changes (CHANGES_ENABLED).
    log_changes: bool = True
    # The users whose tasks the enclosing transaction wrote, told when it commits.
    _written_users: set[str] | None = None

    def written(self, user_id: str) -> None:
        """Tell the write listeners about `user_id` once this write commits (now, outside
        a transaction)."""
        if self._written_users is not None:
            self._written_users.add(user_id)
        else:
            self._committed({user_id})

    def changed(self, user_ids: set[str]) -> None:
        """Tell the change listeners that these users' logs have new changes."""
        _tell(self.change_listeners, user_ids)

    def add_write_listener(self, listener: ChangeListener) -> None:
        """Have `listener` told of every commit that wrote tasks (see `written`)."""
        self.write_listeners += (listener,)

    def remove_write_listener(self, listener: ChangeListener) -> None:
        self.write_listeners = tuple(known for known in self.write_listeners if known != listener)

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Have `listener` told of every user whose log advanced (see `changed`)."""
        self.change_listeners += (listener,)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        self.change_listeners = tuple(known for known in self.change_listeners if known != listener)

    def _joins(self, tx: "Database", users: set[str]) -> None:
        # A transaction shares this database's listeners; its writes are told once it commits.
        tx.write_listeners, tx.change_listeners = self.write_listeners, self.change_listeners
        tx._written_users = users
        tx.log_changes = self.log_changes

    def _committed(self, users: set[str]) -> None:
        _tell(self.write_listeners, users)

    @abstractmethod
    async def fetch_all(self, statement: ClauseElement, params: Params = None) -> list[Row]:
        """Every row the statement returns."""

    @abstractmethod
    async def fetch_one(self, statement: ClauseElement, params: Params = None) -> Row | None:
        """The first row, or None."""

    @abstractmethod
    async def execute(self, statement: ClauseElement, params: Params = None) -> int:
        """Run a statement that returns no rows; the number of rows it touched."""

    async def scalar(self, statement: ClauseElement, params: Params = None) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetch_one(statement, params)
        return None if row is None else next(iter(row.values()))

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager["Database"]:
        """`async with db.transaction() as tx:` runs statements on `tx` as one transaction."""

    async def ping(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query succeeds."""
        await self.fetch_one(text("SELECT 1"))

    @abstractmethod
    async def close(self) -> None:
        """Release every connection."""


# --- PostgreSQL: asyncpg ----------------------------------------------------------------------

_PG_DIALECT = make_url("postgresql+asyncpg://").get_dialect()()
_CONNECTION_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
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


def _translate_pg_error(error: Exception) -> Exception:
    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return IntegrityViolation(str(error))
    if isinstance(error, _CONNECTION_ERRORS):
        return DatabaseUnavailable(str(error) or type(error).__name__)
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
            raise _translate_pg_error(error) from error

    async def fetch_all(self, statement: ClauseElement, params: Params = None) -> list[Row]:
        records = await self._call("fetch", statement, params)
        return [dict(record) for record in records]

    async def fetch_one(self, statement: ClauseElement, params: Params = None) -> Row | None:
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
        users: set[str] = set()
        try:
            async with self._acquire() as connection, connection.transaction():
                tx = PostgresDatabase(self._pool, connection)
                self._joins(tx, users)
                yield tx
        except _CONNECTION_ERRORS as error:
            raise DatabaseUnavailable(str(error) or type(error).__name__) from error
        self._committed(users)

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


async def _init_pg_connection(connection: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await connection.set_type_codec(
            json_type, schema="pg_catalog", encoder=json.dumps, decoder=_decode_json
        )


async def _create_pg_pool(target: DatabaseTarget, settings: Settings) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        **target.asyncpg_arguments(),
        min_size=0,  # connect on first use: the service starts while the database wakes up
        max_size=settings.db_pool_size,
        # Neon suspends idle computes after 5 minutes: close idle connections before that.
        max_inactive_connection_lifetime=settings.db_pool_max_idle_seconds,
        command_timeout=settings.db_statement_timeout_seconds,
        init=_init_pg_connection,
        reset=_keep_session,
    )


# --- SQLite: SQLAlchemy + aiosqlite -----------------------------------------------------------


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

    async def fetch_all(self, statement: ClauseElement, params: Params = None) -> list[Row]:
        rows: list[Row] = await self._run(statement, params)
        return rows

    async def fetch_one(self, statement: ClauseElement, params: Params = None) -> Row | None:
        rows = await self.fetch_all(statement, params)
        return rows[0] if rows else None

    async def execute(self, statement: ClauseElement, params: Params = None) -> int:
        count: int = await self._run(statement, params)
        return count

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        if self._connection is not None:
            yield self  # already in one: SQLite's writes are serialised anyway
            return
        users: set[str] = set()
        async with self._connect() as connection:
            tx = SQLiteDatabase(self._engine, connection)
            self._joins(tx, users)
            yield tx
        self._committed(users)

    async def close(self) -> None:
        await self._engine.dispose()


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# --- Opening and migrating --------------------------------------------------------------------


def _target(settings: Settings) -> DatabaseTarget:
    return database_target(
        settings.effective_database_url, connect_timeout=settings.db_connect_timeout_seconds
    )


def create_engine(settings: Settings, target: DatabaseTarget | None = None) -> AsyncEngine:
    """A SQLAlchemy engine for the configured database (SQLite queries and all migrations);
    `target`: the settings' database URL, when the caller has already read it."""
    target = target or _target(settings)
    if target.is_sqlite:
        engine = create_async_engine(
            target.url, connect_args=target.connect_args, echo=settings.sql_echo
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    # Only migrations run through SQLAlchemy on PostgreSQL: no pool to keep.
    return create_async_engine(
        target.url, connect_args=target.connect_args, echo=settings.sql_echo, poolclass=NullPool
    )


async def open_database(settings: Settings, *, migrate: bool) -> Database:
    """Connect to the configured database, first bringing its schema up to date if asked."""
    target = _target(settings)
    engine = create_engine(settings, target)
    if migrate:
        await upgrade_schema(engine)
    if target.is_sqlite:
        return SQLiteDatabase(engine)
    await engine.dispose()
    try:
        pool = await _create_pg_pool(target, settings)
    except _CONNECTION_ERRORS as error:
        raise DatabaseUnavailable(str(error) or type(error).__name__) from error
    return PostgresDatabase(pool, acquire_timeout=settings.db_connect_timeout_seconds)


async def check_connection(settings: Settings) -> None:
    """Connect once, before serving: ConfigError or DatabaseUnavailable otherwise, whose
    one-line message names the problem and its fix (and never the password)."""
    target = database_target(
        settings.effective_database_url, connect_timeout=settings.db_connect_timeout_seconds
    )
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


def connection_failure(error: BaseException, settings: Settings) -> Exception:
    """What a failed connection to PostgreSQL means for the operator, in one line.

    ConfigError when DATABASE_URL (or the server's set-up) must change, DatabaseUnavailable when
    the server is not there; the error itself when it is neither (then it is a bug to report).
    """
    url = make_url(settings.effective_database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    database, user = url.database or url.username or "postgres", url.username or "postgres"
    sslmode = url.query.get("sslmode")
    for cause in _causes(error):
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            return ConfigError(
                f'Database "{database}" does not exist on {where}: create it (createdb -h '
                f"{url.host or 'localhost'} -p {url.port or 5432} -U {user} {database}), or "
                "name an existing one in DATABASE_URL"
            )
        if isinstance(
            cause, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
        ):
            return ConfigError(
                f"PostgreSQL at {where} refused user {user!r}: {cause}; check the user and "
                "password in DATABASE_URL"
            )
        if isinstance(cause, ConnectionRefusedError):
            return DatabaseUnavailable(
                f"Cannot connect to PostgreSQL at {where}: nothing is listening there "
                "(connection refused). Start PostgreSQL, or fix the host and port in DATABASE_URL"
            )
        if isinstance(cause, socket.gaierror):
            return DatabaseUnavailable(
                f"Cannot connect to PostgreSQL: the host {url.host!r} in DATABASE_URL does not "
                "resolve. Check the host name (and the network)"
            )
        if isinstance(cause, TimeoutError):
            return DatabaseUnavailable(
                f"Cannot connect to PostgreSQL at {where}: no answer within "
                f"{settings.db_connect_timeout_seconds:g} s. Check the host, the port and any "
                "firewall, or raise DB_CONNECT_TIMEOUT_SECONDS"
            )
        if isinstance(cause, ssl.SSLError):
            return ConfigError(f"TLS with PostgreSQL at {where} failed: {cause.reason or cause}")
        if isinstance(cause, ConnectionError) and "SSL" in str(cause):
            # asyncpg asks for TLS first unless sslmode=disable; the server said no, or hung up.
            if sslmode in _TLS_REQUIRED:
                return ConfigError(
                    f"PostgreSQL at {where} does not accept TLS, but DATABASE_URL asks for "
                    f"sslmode={sslmode}: use sslmode=prefer (or disable) for a server without "
                    "TLS; Neon always needs sslmode=require"
                )
            return DatabaseUnavailable(
                f"Cannot connect to PostgreSQL at {where}: the server hung up at once. Is it "
                "PostgreSQL that listens there? Check the host and port in DATABASE_URL"
            )
        if isinstance(cause, asyncpg.PostgresError):
            return DatabaseUnavailable(f"PostgreSQL at {where} refused the connection: {cause}")
        if isinstance(cause, OSError):
            return DatabaseUnavailable(
                f"Cannot connect to PostgreSQL at {where}: {cause.strerror or cause}"
            )
    return error if isinstance(error, Exception) else RuntimeError(str(error))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, and what it wraps (SQLAlchemy's `orig`, `raise … from`), outermost first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def include_in_comparison(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate's filter: the PostgreSQL-only search indexes (`*_trgm`) live in the
    migrations alone, since models.py cannot declare an index that may not exist."""
    return not (type_ == "index" and reflected and (name or "").endswith("_trgm"))


def head_revision() -> str:
    """The newest revision among the migrations shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


_SCHEMA_REVISION = text("SELECT version_num FROM alembic_version")


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
