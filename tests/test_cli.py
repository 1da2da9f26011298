"""The `todo-api` command, run as a user runs it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import jwt
import pytest
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET
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
