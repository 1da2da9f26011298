"""The `todo-api` command, run as a user runs it."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import jwt
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tests.conftest import TEST_DATABASE_URL, TEST_SECRET
from todo_api.cli import cli

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> dict[str, str]:
    values = {"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": TEST_SECRET}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    return values


def test_token_prints_a_verifiable_token(env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["token", "--sub", "alice", "--email", "a@example.com"])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(
        result.stdout.strip(), TEST_SECRET, algorithms=["HS256"], audience="todo-api"
    )
    assert claims["sub"] == "alice"
    assert claims["email"] == "a@example.com"
    assert claims["exp"] - claims["iat"] == 3600


def test_production_misconfiguration_is_refused_in_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("BETTER_AUTH_SECRET", "too-short")
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "todo-api: ENVIRONMENT=production requires BETTER_AUTH_SECRET of at least 32 characters"
    ]


def test_invalid_setting_is_refused_in_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_ALGORITHM", "none")
    result = runner.invoke(cli, ["token", "--sub", "alice"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "JWT_ALGORITHM" in result.stderr


def test_db_upgrade_creates_the_schema(env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_with_no_configuration_uses_sqlite_and_a_development_secret(tmp_path: Path) -> None:
    port = _free_port()
    clean_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT"}
    }
    todo_api = Path(sys.executable).parent / "todo-api"
    server = subprocess.Popen(
        [str(todo_api), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(base).json() == {"message": "Todo API is running"}
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        token = subprocess.run(
            [str(todo_api), "token", "--sub", "alice"],
            cwd=tmp_path,
            env=clean_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{base}/api/alice/tasks", json={"title": "from curl"}, headers=headers
        )
        assert created.status_code == 201
        assert (tmp_path / "todo.db").exists()
        assert (tmp_path / ".todo-api-secret").exists()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "development" in output and ".todo-api-secret" in output


# --- failures a person can act on: one or two lines, no traceback, a non-zero exit -----------

TODO_API = str(Path(sys.executable).parent / "todo-api")
_SERVICE_VARIABLES = {"DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT", "LOG_FORMAT"}
_PG = (TEST_DATABASE_URL or "").startswith("postgres")


def _with(url: str, **changes: object) -> str:
    return make_url(url).set(**changes).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Every failing `todo-api` command below, run at once as a person runs it (each start
    costs seconds of imports): its exit status and output (stderr folded in) by case name."""
    silent = socket.socket()  # accepts TCP connections, then never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    closed, quiet = _free_port(), silent.getsockname()[1]
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "serve, nothing listening": (
            ["serve"],
            {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/todo"},
        ),
        "db upgrade, nothing listening": (
            ["db", "upgrade"],
            {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/todo"},
        ),
        "no answer": (
            ["serve"],
            {
                "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{quiet}/todo",
                "DB_CONNECT_TIMEOUT_SECONDS": "1",
            },
        ),
        "port in use": (["serve", "--port", str(quiet)], {}),
        "malformed": (["serve"], {"DATABASE_URL": "not a url"}),
        "port not a number": (
            ["serve"],
            {"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:54x2/todo"},
        ),
        "port out of range": (
            ["serve"],
            {"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:99999/todo"},
        ),
        "unsupported scheme": (["serve"], {"DATABASE_URL": "mysql://u:hunter2@127.0.0.1/todo"}),
        "unknown sslmode": (
            ["serve"],
            {"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1/todo?sslmode=always"},
        ),
        "sqlite directory missing": (["serve"], {"DATABASE_URL": "sqlite:///no/such/dir/t.db"}),
        "sqlite with two slashes": (["db", "upgrade"], {"DATABASE_URL": "sqlite://todo.db"}),
        "token, malformed url": (["token", "--sub", "alice"], {"DATABASE_URL": "not a url"}),
    }
    if _PG:
        missing = _with(TEST_DATABASE_URL, database=f"todo_missing_{uuid.uuid4().hex[:8]}")
        cases["missing database"] = (["serve"], {"DATABASE_URL": missing})
        # Neon's URLs carry sslmode=require; the local server speaks no TLS.
        tls = make_url(TEST_DATABASE_URL).update_query_dict({"sslmode": "require"})
        cases["tls refused"] = (
            ["serve"],
            {"DATABASE_URL": tls.render_as_string(hide_password=False)},
        )
    clean = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    processes = {}
    for name, (args, env) in cases.items():
        cwd = tmp_path_factory.mktemp("cli")
        processes[name] = subprocess.Popen(
            [TODO_API, *args],
            cwd=cwd,
            env=clean | {"BETTER_AUTH_SECRET": TEST_SECRET} | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    results = {}
    try:
        for name, process in processes.items():
            output, _ = process.communicate(timeout=180)
            results[name] = (process.returncode, output, env)
    finally:
        for process in processes.values():
            process.kill()
        silent.close()
    yield {
        name: {"status": status, "output": output, "url": cases[name][1].get("DATABASE_URL")}
        for name, (status, output, env) in results.items()
    }


def refused_in_one_line(result: dict[str, object], *words: str) -> str:
    """The one line a failing command printed, checked for its shape and `words`."""
    output = str(result["output"])
    lines = output.strip().splitlines()
    assert result["status"] != 0, output
    assert len(lines) == 1, output
    assert "Traceback" not in output
    (line,) = lines
    assert line.startswith("todo-api: ")
    for word in words:
        assert word in line, line
    return line


def _port(url: object) -> int | None:
    return make_url(str(url)).port


@pytest.mark.parametrize("case", ["serve, nothing listening", "db upgrade, nothing listening"])
def test_nothing_listening_names_host_and_port(refusals: dict, case: str) -> None:
    result = refusals[case]
    refused_in_one_line(result, f"127.0.0.1:{_port(result['url'])}", "connection refused")
    assert result["status"] == 1


def test_a_server_that_never_answers_is_given_up_on_after_the_connect_timeout(
    refusals: dict,
) -> None:
    result = refusals["no answer"]
    where = f"127.0.0.1:{_port(result['url'])}"
    refused_in_one_line(result, where, "within 1 s", "DB_CONNECT_TIMEOUT_SECONDS")


@pytest.mark.skipif(not _PG, reason="needs the PostgreSQL server of TEST_DATABASE_URL")
def test_a_missing_database_is_named_with_how_to_create_it(refusals: dict) -> None:
    result = refusals["missing database"]
    name = make_url(result["url"]).database
    line = refused_in_one_line(result, f'"{name}" does not exist', "createdb -h 127.0.0.1")
    assert line.endswith("or name an existing one in DATABASE_URL")
    assert result["status"] == 2  # something to change, as the docs say


@pytest.mark.skipif(not _PG, reason="needs the PostgreSQL server of TEST_DATABASE_URL")
def test_a_server_without_tls_is_named_when_the_url_requires_it(refusals: dict) -> None:
    refused_in_one_line(
        refusals["tls refused"], "does not accept TLS", "sslmode=require", "sslmode=prefer"
    )


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("malformed", ["is not a database URL", "postgresql://user:password@host:5432/"]),
        ("port not a number", ["port must be a number from 1 to 65535"]),
        ("port out of range", ["port must be a number from 1 to 65535, not 99999"]),
        ("unsupported scheme", ["sqlite://", "postgresql://", "not mysql://"]),
        ("unknown sslmode", ["unknown sslmode"]),
        ("sqlite directory missing", ["no/such/dir does not exist", "create it"]),
        ("sqlite with two slashes", ["three slashes", "sqlite:///todo.db"]),
    ],
)
def test_an_unusable_database_url_is_refused_in_one_line(
    refusals: dict, case: str, words: list[str]
) -> None:
    line = refused_in_one_line(refusals[case], *words)
    assert "hunter2" not in line
    assert refusals[case]["status"] == 2


def test_a_port_in_use_is_named_with_how_to_choose_another(refusals: dict) -> None:
    line = refused_in_one_line(refusals["port in use"], "is already in use", "--port or PORT")
    assert refusals["port in use"]["status"] == 2
    assert ":" in line.split(" is already")[0]


def test_token_needs_no_usable_database_url(refusals: dict) -> None:
    result = refusals["token, malformed url"]
    assert result["status"] == 0, result["output"]
    token = result["output"].strip().splitlines()[-1]
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["sub"] == "alice"


def test_serve_help_describes_every_option_without_type_placeholders() -> None:
    result = runner.invoke(cli, ["serve", "--help"], terminal_width=100)
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout and "<int" not in result.stdout
    options = {
        line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  --")
    }
    assert set(options) == {"--host", "--port", "--workers", "--reload", "--help"}
    assert "--workers N  " in options["--workers"]
    assert "Worker processes" in options["--workers"]
