"""The `todo-api` command as a newcomer first meets it: its help, `--version`, serve's options
without the word `serve`, the line that says where the API is, and tokens made in a hurry."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import jwt
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, TEST_SECRET
from todo_api import __version__
from todo_api.accounts.tokens import ACCESS_TOKEN_TYPE, issue_token

TODO_API = str(Path(sys.executable).parent / "todo-api")
_SERVICE_VARIABLES = {"DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT", "LOG_FORMAT", "PORT"}
# Modules of the server's stack: `todo-api token` needs none of them.
_SERVER_STACK = ("fastapi", "starlette", "uvicorn", "sqlmodel", "alembic", "asyncpg", "mcp")


def _env(**values: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES} | values


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TODO_API, *args], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=60
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- help and version -------------------------------------------------------------------------


def test_help_says_that_no_command_means_serve_and_cuts_no_summary(tmp_path: Path) -> None:
    result = _run("--help", cwd=tmp_path)
    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    assert "With no command it runs `serve`, and takes serve's options" in help_text
    commands = result.stdout.split("Commands:")[1]
    assert "..." not in commands
    assert "serve Run the API server (the default command)." in help_text


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    result = _run("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"todo-api {__version__}\n")


def test_db_upgrade_help_names_database_url(tmp_path: Path) -> None:
    result = _run("db", "upgrade", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "DATABASE_URL" in result.stdout


def test_token_help_names_its_values_as_serve_s_help_does(tmp_path: Path) -> None:
    result = _run("token", "--help", cwd=tmp_path)
    options = " ".join(result.stdout.split())
    assert "<" not in options.replace("Bearer <token>", "")  # no `<str>`, `<int range>`
    for option in ("--sub USER_ID", "--email EMAIL", "--name NAME", "--expires-in SECONDS"):
        assert option in options


# --- tokens -----------------------------------------------------------------------------------


def test_token_imports_nothing_of_the_server(tmp_path: Path) -> None:
    result = _run("token", "--sub", "alice", cwd=tmp_path, PYTHONPROFILEIMPORTTIME="1")
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert not {name for name in imported if name.split(".")[0] in _SERVER_STACK}


def test_token_warns_once_when_it_makes_the_development_secret(tmp_path: Path) -> None:
    first = _run("token", "--sub", "alice", cwd=tmp_path)
    second = _run("token", "--sub", "alice", cwd=tmp_path)
    secret = (tmp_path / ".todo-api-secret").read_text().strip()
    assert first.returncode == second.returncode == 0
    (warning,) = first.stderr.splitlines()
    assert "BETTER_AUTH_SECRET is not set" in warning and ".todo-api-secret" in warning
    assert second.stderr == ""
    for result in (first, second):
        claims = jwt.decode(
            result.stdout.strip(), secret, algorithms=["HS256"], audience="todo-api"
        )
        assert claims["sub"] == "alice"


def test_the_token_command_signs_what_the_service_issues(tmp_path: Path) -> None:
    # The command signs by itself, so as not to import the web stack the accounts domain uses.
    result = _run(
        "token",
        "--sub",
        "alice",
        "--email",
        "a@example.com",
        "--name",
        "Alice",
        cwd=tmp_path,
        BETTER_AUTH_SECRET=TEST_SECRET,
    )
    ours = result.stdout.strip()
    theirs = issue_token(
        TEST_SECRET,
        subject="alice",
        issuer="todo-api",
        audience="todo-api",
        token_type=ACCESS_TOKEN_TYPE,
        email="a@example.com",
        name="Alice",
    )
    assert jwt.get_unverified_header(ours) == jwt.get_unverified_header(theirs)
    options = {"verify_signature": False}
    mine, service = jwt.decode(ours, options=options), jwt.decode(theirs, options=options)
    assert list(mine) == list(service)
    assert {k: v for k, v in mine.items() if k not in {"iat", "exp"}} == {
        k: v for k, v in service.items() if k not in {"iat", "exp"}
    }
    assert mine["exp"] - mine["iat"] == 3600


# --- `todo-api` alone serves ------------------------------------------------------------------


@pytest.fixture
def bare_server(tmp_path: Path, database_url: str) -> Iterator[tuple[int, Path]]:
    """`todo-api --port N`, without the word serve; its port and log. On PostgreSQL its URL
    carries a password (the local server asks for none), which the log must not show."""
    port = _free_port()
    env = {"BETTER_AUTH_SECRET": TEST_SECRET}
    if TEST_DATABASE_URL is not None:
        env["DATABASE_URL"] = (
            make_url(database_url).set(password="hunter2").render_as_string(hide_password=False)
        )
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [TODO_API, "--port", str(port)],
            cwd=tmp_path,
            env=_env(**env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield port, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_todo_api_alone_takes_serve_s_options(bare_server: tuple[int, Path]) -> None:
    port, _log = bare_server
    answer = httpx.get(f"http://127.0.0.1:{port}/")
    assert answer.json() == {"message": "Todo API is running"}


def test_the_start_up_line_names_the_database_and_the_docs_url(
    bare_server: tuple[int, Path], tmp_path: Path, database_url: str
) -> None:
    port, log = bare_server
    (line,) = [line for line in log.read_text().splitlines() if "API docs" in line]
    assert f"http://127.0.0.1:{port} (API docs: http://127.0.0.1:{port}/docs)" in line
    if TEST_DATABASE_URL is None:
        assert line.endswith(f"database: SQLite file {tmp_path / 'todo.db'}")
    else:
        url = make_url(database_url)
        assert line.endswith(f"database: PostgreSQL database {url.database} on {url.host}:5432")
    assert "hunter2" not in log.read_text()
    assert "postgres@" not in line
