"""Database URLs as people paste them, turned into what the async drivers accept."""

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url

from todo_api.core.config import ConfigError

logger = logging.getLogger(__name__)

# libpq's sslmode values, as asyncpg's `ssl` argument spells them.
SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
TLS_REQUIRED = {"require", "verify-ca", "verify-full"}

_URL_SHAPES = "sqlite:///path/to/todo.db or postgresql://user:password@host:5432/database"
_BAD_PORT = "DATABASE_URL's port must be a number from 1 to 65535"


@dataclass(frozen=True)
class DatabaseTarget:
    """A URL people paste, turned into what SQLAlchemy's async drivers accept."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def description(self) -> str:
        """The database in words, without credentials or parameters (for the start-up log)."""
        url = self.url
        if self.is_sqlite:
            if not url.database or url.database == ":memory:":
                return "SQLite in memory"
            return f"SQLite file {Path(url.database).resolve()}"
        return f"PostgreSQL database {url.database} on {url.host or 'localhost'}:{url.port or 5432}"

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
    if backend == "sqlite" and url.host:
        # `sqlite://todo.db` reads as a host named todo.db: the path comes after a third slash.
        raise ConfigError(
            "DATABASE_URL: a SQLite path follows three slashes: sqlite:///todo.db for a file in "
            "the working directory, sqlite:////var/lib/todo/todo.db for an absolute path"
        )
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
        if sslmode not in SSLMODES:
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
