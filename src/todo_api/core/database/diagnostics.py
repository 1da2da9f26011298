"""What a failed connection to PostgreSQL means for the operator, in one line."""

import socket
import ssl
from collections.abc import Iterator

import asyncpg
from sqlalchemy.engine import make_url

from todo_api.core.config import ConfigError, Settings
from todo_api.core.database.urls import TLS_REQUIRED
from todo_api.core.errors import DatabaseUnavailable


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
            if sslmode in TLS_REQUIRED:
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
