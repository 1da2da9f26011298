"""The `todo-api` command: serve the API, mint a development token, migrate the database."""

import asyncio
from datetime import timedelta
from typing import Annotated, cast

import typer
import uvicorn
from pydantic import ValidationError

from todo_api.auth import ACCESS_TOKEN_TYPE, issue_token
from todo_api.config import ConfigError, Settings
from todo_api.db import create_engine, upgrade_schema
from todo_api.logs import log_config
from todo_api.server import BoundedHttpToolsProtocol

cli = typer.Typer(help="todo-api: the backend of a multi-user todo app.", add_completion=False)
db_cli = typer.Typer(help="Database schema commands.")
cli.add_typer(db_cli, name="db")


def _load_settings() -> Settings:
    """The environment's settings, or exit with one line saying what is wrong."""
    try:
        settings = Settings()
        settings.check_production()
    except ConfigError as exc:
        typer.echo(f"todo-api: {exc}", err=True)
        raise typer.Exit(2) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}" for error in exc.errors()
        )
        typer.echo(f"todo-api: invalid configuration: {problems}", err=True)
        raise typer.Exit(2) from None
    return settings


@cli.callback(invoke_without_command=True)
def _default(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        serve()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY", min=1)] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Run the API server: N worker processes; SIGTERM lets in-flight requests finish."""
    settings = _load_settings()
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
    )


@cli.command()
def token(
    sub: Annotated[str, typer.Option(help="User id the token names.")],
    email: Annotated[str | None, typer.Option(help="Email claim.")] = None,
    name: Annotated[str | None, typer.Option(help="Name claim.")] = None,
    expires_in: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a bearer token signed with the configured secret, for trying the API."""
    settings = _load_settings()
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

    async def run() -> None:
        engine = create_engine(settings)
        try:
            await upgrade_schema(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo("Database schema is up to date.")


def main() -> None:
    """Entry point of the `todo-api` script."""
    cli()
