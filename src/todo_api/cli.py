"""The `todo-api` command: serve the API, mint a development token, migrate the database.

`todo-api token` is run again and again while trying the API, so this module imports only the
settings at first: the server's stack (uvicorn, the database drivers, the app) is imported by
the commands that use it, when they run.
"""

import logging
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from todo_api import __version__
from todo_api.core.config import ConfigError, Settings

if TYPE_CHECKING:
    from todo_api.core.database import DatabaseTarget

logger = logging.getLogger(__name__)

# Plain help (no Rich panels): option types as metavars, not as `<bool>` columns.
cli = typer.Typer(
    help="todo-api: the backend of a multi-user todo app. With no command it runs `serve`, "
    "and takes serve's options: `todo-api --port 9000` is `todo-api serve --port 9000`.",
    add_completion=False,
    rich_markup_mode=None,
)
db_cli = typer.Typer(
    help="Database schema commands (on the database DATABASE_URL names).",
    short_help="Database schema commands.",
    rich_markup_mode=None,
)
cli.add_typer(db_cli, name="db")

# Exit statuses: something in the configuration to change (a database that does not exist
# included), or a database that does not answer (it may, later).
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1
WORKER_STARTUP_SECONDS = 30
# Sent with the tokens the service issues (RFC 9068's access token); the accounts domain
# checks it (tests/test_cli_newcomer.py pins these tokens to the ones accounts issues).
ACCESS_TOKEN_TYPE = "at+jwt"


def _fail(message: object, status: int) -> typer.Exit:
    typer.echo(f"todo-api: {message}", err=True)
    return typer.Exit(status)


def _load_settings() -> Settings:
    """The environment's settings, or exit with one line saying what is wrong."""
    try:
        settings = Settings()
        settings.check_production()
    except ConfigError as exc:
        raise _fail(exc, EXIT_CONFIG) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}" for error in exc.errors()
        )
        raise _fail(f"invalid configuration: {problems}", EXIT_CONFIG) from None
    return settings


def _database_of(settings: Settings) -> "DatabaseTarget":
    """The database DATABASE_URL names, or exit with one line saying what is wrong with it."""
    from todo_api.core.database import database_target

    try:
        return database_target(settings.effective_database_url)
    except ConfigError as exc:
        raise _fail(exc, EXIT_CONFIG) from None


def _check_database(settings: Settings) -> None:
    """Exit with one line naming the problem and its fix unless the database answers."""
    import asyncio

    from todo_api.core.database import check_connection
    from todo_api.core.errors import DatabaseUnavailable

    try:
        asyncio.run(check_connection(settings))
    except ConfigError as exc:
        raise _fail(exc, EXIT_CONFIG) from None
    except DatabaseUnavailable as exc:
        raise _fail(exc, EXIT_UNAVAILABLE) from None


def _check_port(host: str, port: int) -> None:
    """Exit with one line unless the server could listen on host:port (as uvicorn binds)."""
    import errno
    import socket

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


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"todo-api {__version__}")
        raise typer.Exit()


@cli.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The options of `todo-api` itself, before any command."""


@cli.command(short_help="Run the API server (the default command).")
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
    """Run the API server: N worker processes; SIGTERM lets in-flight requests finish.

    The database is DATABASE_URL's (a SQLite file, ./todo.db, when it is unset); its schema is
    brought to the newest migration first, unless RUN_MIGRATIONS_ON_STARTUP=false.
    """
    from typing import cast

    import uvicorn

    from todo_api.core.logs import log_config
    from todo_api.core.server import BoundedHttpToolsProtocol

    settings = _load_settings()
    database = _database_of(settings)
    # Checked here, once: a failure in the workers' start-up would be a traceback per worker.
    _check_port(host, port)
    if settings.run_migrations_on_startup:
        # Otherwise the service starts without its database (Neon's may still be waking up)
        # and /ready says whether it answers.
        _check_database(settings)
    address = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    _log_start(settings, address, database)
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


def _log_start(settings: Settings, address: str, database: "DatabaseTarget") -> None:
    """One line in the service's log format: where the API and its docs are, on which database."""
    import logging.config

    from todo_api.core.logs import log_config

    config = log_config(settings)
    # A plain handler for this line: the service's own handler writes from a thread of its own,
    # which would have to be stopped before uvicorn sets up the logging again.
    config["handlers"]["default"] = {
        "class": "logging.StreamHandler",
        "formatter": "service",
        "stream": "ext://sys.stderr",
    }
    logging.config.dictConfig(config)
    logger.info(
        "todo-api %s on %s (API docs: %s/docs), database: %s",
        __version__,
        address,
        address,
        database.description,
    )


@cli.command(short_help="Print a bearer token for trying the API.")
def token(
    sub: Annotated[
        str, typer.Option(metavar="USER_ID", help="The user the token names (its sub).")
    ],
    email: Annotated[str | None, typer.Option(metavar="EMAIL", help="The email claim.")] = None,
    name: Annotated[str | None, typer.Option(metavar="NAME", help="The name claim.")] = None,
    expires_in: Annotated[
        int, typer.Option(metavar="SECONDS", min=1, help="How long the token is valid.")
    ] = 3600,
) -> None:
    """Print a bearer token signed with BETTER_AUTH_SECRET (or the development secret the
    service uses without it), for trying the API: Authorization: Bearer <token>."""
    import jwt

    settings = _load_settings()
    now = int(time.time())
    profile = {key: value for key, value in {"email": email, "name": name}.items() if value}
    claims = {
        "sub": sub,
        "iat": now,
        "exp": now + expires_in,
        **profile,
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
    }
    secret = _signing_secret(settings)
    headers = {"typ": ACCESS_TOKEN_TYPE}
    typer.echo(jwt.encode(claims, secret, algorithm=settings.jwt_algorithm, headers=headers))


def _signing_secret(settings: Settings) -> str:
    """The secret tokens are signed with. The settings log a warning each time the development
    secret is used, which a command printing one token would repeat on every call: this says
    it once, when it makes that secret."""
    if settings.better_auth_secret is not None:
        return settings.jwt_secret()
    path = settings.secret_file_path()
    made_now = not path.exists()
    settings_log = logging.getLogger(Settings.__module__)
    settings_log.disabled = True
    try:
        secret = settings.jwt_secret()
    finally:
        settings_log.disabled = False
    if made_now:
        typer.echo(
            f"todo-api: BETTER_AUTH_SECRET is not set: made a development secret in {path}, "
            "which the service run from here uses too (set BETTER_AUTH_SECRET to share one "
            "with your frontend)",
            err=True,
        )
    return secret


@db_cli.command("upgrade", short_help="Bring the schema to the newest migration.")
def db_upgrade() -> None:
    """Bring the schema of the database DATABASE_URL names (a SQLite file, ./todo.db, when it
    is unset) to the newest migration. `todo-api serve` does it too when it starts, unless
    RUN_MIGRATIONS_ON_STARTUP=false."""
    import asyncio

    from todo_api.core.database import connection_failure, create_engine, upgrade_schema

    settings = _load_settings()
    _database_of(settings)
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


# What `todo-api` itself takes before a command; anything else that starts with a dash is
# serve's, since `todo-api` alone is `todo-api serve`.
_OWN_OPTIONS = {"--help", "--version"}


def main() -> None:
    """Entry point of the `todo-api` script: with no command, `todo-api serve` (parsed as one,
    so that its options, HOST, PORT and WEB_CONCURRENCY apply)."""
    args = sys.argv[1:]
    if not args or (args[0].startswith("-") and args[0] not in _OWN_OPTIONS):
        args = ["serve", *args]
    cli(args, prog_name="todo-api")
