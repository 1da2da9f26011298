"""`todo-api serve` as a deployment runs it: the Docker image's command, workers, shutdown."""

import asyncio
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import text

from tests.conftest import TEST_SECRET, bearer, make_token
from todo_api.core.config import Settings
from todo_api.core.database import open_database

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
# Settings a developer's shell may hold that would change what these servers do.
_SERVICE_VARIABLES = {"DATABASE_URL", "BETTER_AUTH_SECRET", "ENVIRONMENT", "LOG_FORMAT"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server subprocess; `base` is its URL once `wait_until_up()` returns."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = cwd / "server.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._log_file.close()


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    return env | values


# --- the Dockerfile -------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in _dockerfile():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def _image_command() -> list[str]:
    commands = [json.loads(arguments) for keyword, arguments in _dockerfile() if keyword == "CMD"]
    return commands[-1]


def _image_healthcheck() -> list[str]:
    (check,) = [arguments for keyword, arguments in _dockerfile() if keyword == "HEALTHCHECK"]
    return json.loads(check[check.index("CMD ") + 4 :])


def test_the_image_is_slim_python_with_a_locked_production_install() -> None:
    instructions = _dockerfile()
    base = next(arguments for keyword, arguments in instructions if keyword == "FROM")
    assert re.fullmatch(r"python:3\.(11|13)-slim(-\w+)?", base)
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any(run.endswith("uv sync --locked --no-dev") for run in runs)
    assert not any("--dev" in run.replace("--no-dev", "") for run in runs)


def test_the_image_runs_as_an_unprivileged_user() -> None:
    users = [arguments for keyword, arguments in _dockerfile() if keyword == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}
    # Nothing may switch back after the last USER.
    keywords = [keyword for keyword, _ in _dockerfile()]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:]


def test_the_image_listens_on_port_7860_unless_port_is_set() -> None:
    assert ("EXPOSE", "7860") in _dockerfile()
    env = _image_env()
    assert env["PORT"] == "7860"
    assert env["HOST"] == "0.0.0.0"
    command = _image_command()
    # Exec form, no shell: the server itself gets SIGTERM and drains in-flight requests.
    assert command == ["todo-api", "serve"]


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*")] == "*"  # everything is excluded, then what is needed added
    allowed = {line[1:] for line in ignored if line.startswith("!")}
    assert allowed == {"pyproject.toml", "uv.lock", ".python-version", "README.md", "src/"}


def test_the_image_command_serves_the_api_with_json_logs(tmp_path: Path) -> None:
    port = _free_port()
    image_env = _image_env()
    env = _clean_env(**{k: v for k, v in image_env.items() if k != "PATH"})
    # As the platform would: its own port; tests listen on loopback only.
    env |= {"PORT": str(port), "HOST": "127.0.0.1", "LOG_FORMAT": "json"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    server = Server(_image_command(), env, tmp_path, port)
    try:
        server.wait_until_up()
        response = httpx.get(f"{server.base}/", headers={"X-Request-ID": "probe-1"})
        assert response.status_code == 200
        assert response.json() == {"message": "Todo API is running"}
        assert response.headers["x-request-id"] == "probe-1"
        healthcheck = subprocess.run(_image_healthcheck(), env=env, capture_output=True)
        assert healthcheck.returncode == 0, healthcheck.stderr
    finally:
        # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
        assert server.stop() in {0, -signal.SIGTERM}
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line]
    assert any(line["message"] == "Application shutdown complete." for line in lines)
    access = [line for line in lines if line.get("request_id") == "probe-1"]
    assert len(access) == 1
    assert access[0] | {"time": None, "duration_ms": None} == {
        "time": None,
        "level": "INFO",
        "logger": "todo_api.access",
        "message": access[0]["message"],
        "request_id": "probe-1",
        "method": "GET",
        "path": "/",
        "status": 200,
        "duration_ms": None,
        "client": "127.0.0.1",
    }
    # uvicorn's own access log is off: one line per request, from the service.
    assert not any(line["logger"] == "uvicorn.access" for line in lines)


# --- workers and graceful shutdown ----------------------------------------------------------


def _worker_pids(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    }


async def _stored_titles(database_url: str) -> list[str]:
    settings = Settings(_env_file=None, database_url=database_url, better_auth_secret=TEST_SECRET)
    db = await open_database(settings, migrate=False)
    try:
        rows = await db.fetch_all(text("SELECT title FROM task ORDER BY id"))
    finally:
        await db.close()
    return [row["title"] for row in rows]


@pytest.fixture
def two_workers(tmp_path: Path, database_url: str) -> Iterator[Server]:
    port = _free_port()
    env = _clean_env(DATABASE_URL=database_url, BETTER_AUTH_SECRET=TEST_SECRET)
    server = Server(
        [str(BIN / "todo-api"), "serve", "--port", str(port), "--workers", "2"], env, tmp_path, port
    )
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def test_serve_workers_runs_that_many_processes(two_workers: Server) -> None:
    deadline = time.monotonic() + 30
    while len(_worker_pids(two_workers.process.pid)) < 2:
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.2)
    assert len(_worker_pids(two_workers.process.pid)) == 2
    responses = [httpx.get(f"{two_workers.base}/health") for _ in range(10)]
    assert {response.status_code for response in responses} == {200}


def test_sigterm_lets_an_in_flight_request_finish(two_workers: Server, database_url: str) -> None:
    body = json.dumps({"title": "written during shutdown"}).encode()
    headers = (
        "POST /api/alice/tasks HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{two_workers.port}\r\n"
        f"Authorization: {bearer(make_token('alice'))['Authorization']}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", two_workers.port), timeout=30) as sock:
        # Headers and half the body: the request is in flight, and stays so until we finish it.
        sock.sendall(headers + body[:10])
        time.sleep(0.5)
        two_workers.process.send_signal(signal.SIGTERM)
        # Shutting down: soon no new connections are served (how soon depends on the load)...
        assert _refuses_new_requests(two_workers.base, within_seconds=15)
        # ...but the one in flight completes.
        sock.sendall(body[10:])
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 201 "), response
    assert b"written during shutdown" in response
    assert two_workers.process.wait(timeout=30) in {0, -signal.SIGTERM}
    assert asyncio.run(_stored_titles(database_url)) == ["written during shutdown"]


def _refuses_new_requests(base: str, within_seconds: float) -> bool:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/health", timeout=2)
        except httpx.TransportError:
            return True
        time.sleep(0.2)
    return False


def _read_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response with a Content-Length, read off a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_streamed_body_over_the_limit_is_cut_off_with_413(
    tmp_path: Path, database_url: str
) -> None:
    port = _free_port()
    env = _clean_env(
        DATABASE_URL=database_url, BETTER_AUTH_SECRET=TEST_SECRET, MAX_BODY_BYTES="2048"
    )
    server = Server([str(BIN / "todo-api"), "serve", "--port", str(port)], env, tmp_path, port)
    try:
        server.wait_until_up()
        request = (
            "POST /api/alice/tasks HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Authorization: {bearer(make_token('alice'))['Authorization']}\r\n"
            "Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        chunk = b"x" * 1000
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request + b'10\r\n{"title": "big",\r\n')
            # Three 1000-byte chunks cross the limit; the answer comes before the body ends.
            for _ in range(3):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            response = _read_response(sock)
        assert response.startswith(b"HTTP/1.1 413 "), response
        assert response.endswith(b'{"detail":"Request body too large: at most 2048 bytes"}')
    finally:
        server.stop()
    assert asyncio.run(_stored_titles(database_url)) == []
