"""The `todo-api` command: serve the API, mint a development token, migrate the database."""

import asyncio
import errno
import socket
import sys
from datetime import timedelta
from typing import Annotated, cast

import typer
import uvicorn
from pydantic import ValidationError

from todo_api.accounts import ACCESS_TOKEN_TYPE, issue_token
from todo_api.core.config import ConfigError, Settings
from todo_api.core.database import (
    check_connection,
    connection_failure,
    create_engine,
    database_target,
    upgrade_schema,
)
from todo_api.core.errors import DatabaseUnavailable
from todo_api.core.logs import log_config
from todo_api.core.server import BoundedHttpToolsProtocol

# Plain help (no Rich panels): option types as metavars, not as `<bool>` columns.
cli = typer.Typer(
    help="todo-api: the backend of a multi-user todo app.",
    add_completion=False,
    rich_markup_mode=None,
)
db_cli = typer.Typer(help="Database schema commands.", rich_markup_mode=None)
cli.add_typer(db_cli, name="db")

# Exit statuses: configuration to fix, or a dependency (the database) that is not there.
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1
WORKER_STARTUP_SECONDS = 30


def _fail(message: object, status: int) -> typer.Exit:
    typer.echo(f"todo-api: {message}", err=True)
    return typer.Exit(status)


def _load_settings(*, database: bool = True) -> Settings:
    """The environment's settings, or exit with one line saying what is wrong.

    `database=False` for commands that never open it (a malformed DATABASE_URL is then fine).
    """
    try:
        settings = Settings()
        settings.check_production()
        if database:
            database_target(settings.effective_database_url)
    except ConfigError as exc:
        raise _fail(exc, EXIT_CONFIG) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}" for error in exc.errors()
        )
        raise _fail(f"invalid configuration: {problems}", EXIT_CONFIG) from None
    return settings


def _check_database(settings: Settings) -> None:
    """Exit with one line naming the problem and its fix unless the database answers."""
    try:
        asyncio.run(check_connection(settings))
    except ConfigError as exc:
        raise _fail(exc, EXIT_CONFIG) from None
    except DatabaseUnavailable as exc:
        raise _fail(exc, EXIT_UNAVAILABLE) from None


def _check_port(host: str, port: int) -> None:
    """Exit with one line unless the server could listen on host:port (as uvicorn binds)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"{host}:{port} is already in use (is todo-api running already?): stop what "
                "uses it, or choose another port with --port or PORT"
            )
        else:
            message = (
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Choose an address of "
                "this machine with --host or HOST, and a port with --port or PORT"
            )
        raise _fail(message, EXIT_CONFIG) from None


@cli.command()
def serve(
    host: Annotated[
        str, typer.Option(envvar="HOST", metavar="ADDRESS", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="PORT", metavar="PORT", help="Port to listen on.")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            envvar="WEB_CONCURRENCY",
            min=1,
            metavar="N",
            help="Worker processes serving requests (about one per CPU); not with --reload.",
        ),
    ] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Run the API server: N worker processes; SIGTERM lets in-flight requests finish."""
    settings = _load_settings()
    # Checked here, once: a failure in the workers' start-up would be a traceback per worker.
    _check_port(host, port)
    if settings.run_migrations_on_startup:
        # Otherwise the service starts without its database (Neon's may still be waking up)
        # and /ready says whether it answers.
        _check_database(settings)
    uvicorn.run(
        "todo_api.main:app",
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        # Client addresses (for the rate limits and the log) come from X-Forwarded-For only
        # when the peer is a trusted proxy: FORWARDED_ALLOW_IPS, loopback by default. uvicorn
        # then takes the last address no trusted proxy added, which a client cannot forge.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        # httptools with a bounded request head (MAX_HEADER_BYTES, MAX_HEADERS): 431 past it.
        http=BoundedHttpToolsProtocol,
        log_config=log_config(settings),
        access_log=False,  # the service logs each request itself, with its request id
        server_header=False,  # no need to tell clients (or scanners) what serves them
        # Typed as int by uvicorn, which waits with asyncio: fractions of a second work.
        timeout_graceful_shutdown=cast(int, settings.shutdown_timeout_seconds),
        # A worker answers uvicorn's health checks only once it has imported the app: 5 s (the
        # default) is too short on a busy machine, and uvicorn then restarts it for ever.
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
    )


@cli.command()
def token(
    sub: Annotated[str, typer.Option(help="User id the token names.")],
    email: Annotated[str | None, typer.Option(help="Email claim.")] = None,
    name: Annotated[str | None, typer.Option(help="Name claim.")] = None,
    expires_in: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a bearer token signed with the configured secret, for trying the API."""
    settings = _load_settings(database=False)
    profile = {key: value for key, value in {"email": email, "name": name}.items() if value}
    typer.echo(
        issue_token(
            settings.jwt_secret(),
            subject=sub,
            algorithm=settings.jwt_algorithm,
            expires_in=timedelta(seconds=expires_in),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            token_type=ACCESS_TOKEN_TYPE,
            **profile,
        )
    )


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest migration."""
    settings = _load_settings()
    _check_database(settings)

    async def run() -> None:
        engine = create_engine(settings)
        try:
            await upgrade_schema(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except Exception as exc:
        # The database went away since the check, say; anything else is a bug: traceback.
        failure = connection_failure(exc, settings)
        if failure is exc:
            raise
        status = EXIT_CONFIG if isinstance(failure, ConfigError) else EXIT_UNAVAILABLE
        raise _fail(failure, status) from None
    typer.echo("Database schema is up to date.")


def main() -> None:
    """Entry point of the `todo-api` script: `todo-api` alone is `todo-api serve` (parsed as
    one, so that HOST, PORT and WEB_CONCURRENCY apply)."""
    cli(sys.argv[1:] or ["serve"], prog_name="todo-api")
