"""Database: URL handling, the async engine, sessions and schema migrations."""

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_api.config import ConfigError, Settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every replica of this service.
MIGRATION_LOCK_ID = 0x70D0_A91


@dataclass(frozen=True)
class DatabaseTarget:
    """A URL people paste, turned into what SQLAlchemy's async drivers accept."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


# libpq's sslmode values, as asyncpg's `ssl` argument spells them.
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def database_target(raw_url: str, *, connect_timeout: float = 10.0) -> DatabaseTarget:
    """Map `sqlite:///…`, `postgres://…` and Neon's `postgresql://…?sslmode=…` to async drivers."""
    try:
        url = make_url(raw_url)
    except Exception as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL: {exc}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return DatabaseTarget(url.set(drivername="sqlite+aiosqlite"), {"timeout": connect_timeout})
    if backend not in {"postgres", "postgresql"}:
        raise ConfigError(f"DATABASE_URL must be sqlite:// or postgresql://, not {backend}://")

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


def create_engine(settings: Settings) -> AsyncEngine:
    """The service's connection pool for the configured database."""
    target = database_target(
        settings.effective_database_url, connect_timeout=settings.db_connect_timeout_seconds
    )
    if target.is_sqlite:
        engine = create_async_engine(
            target.url, connect_args=target.connect_args, echo=settings.sql_echo
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(
        target.url,
        connect_args=target.connect_args,
        echo=settings.sql_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=settings.db_pool_recycle_seconds,
    )


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (responses are built after it)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Yield one session and close it afterwards."""
    async with sessionmaker() as session:
        yield session


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


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
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
