"""System-test fixtures: real `todo-api serve` processes on free ports, and the figures they prove.

These tests talk to the service over real sockets, the way clients and browsers do. Figures
(requests sent, faults injected, operations verified) are collected in `FIGURES` and printed in
pytest's terminal summary, so a run reports what it really exercised.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, TEST_SECRET

POSTGRES_ROOTS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))

FIGURES: Counter[str] = Counter()
SERVER_START_TIMEOUT = 60.0
# Settings no test should inherit from the shell that runs pytest.
_SERVICE_VARIABLES = {
    "DATABASE_URL",
    "BETTER_AUTH_SECRET",
    "CORS_ORIGINS",
    "ENVIRONMENT",
    "PORT",
    "HOST",
    "WEB_CONCURRENCY",
}

requires_postgres = pytest.mark.skipif(
    TEST_DATABASE_URL is None, reason="needs PostgreSQL (set TEST_DATABASE_URL); CI runs it"
)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker (pytest-xdist) hands its figures to the main process, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    FIGURES.update(getattr(node, "workeroutput", {}).get("figures", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("system test figures")
        for name, count in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {count}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A `todo-api serve` subprocess listening on 127.0.0.1:`port`."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_up(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        """Block until `GET /` answers 200; fail with the server's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"todo-api serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"todo-api serve did not answer within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """Shut down gracefully (SIGTERM), killing it if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


StartServer = Callable[..., Server]
# System tests send bursts far beyond any per-user budget: they prove correctness under load,
# so request and task limits (when the service has them) are lifted unless a test sets them.
SERVER_DEFAULTS = {"RATE_LIMIT_ENABLED": "false", "MAX_TASKS_PER_USER": "0"}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start `todo-api serve` with the given settings (as environment variables) and wait for it.

    Every server started is stopped when the test ends.
    """
    servers: list[Server] = []

    def start(database_url: str, **settings: str) -> Server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
        env |= SERVER_DEFAULTS | {"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": TEST_SECRET}
        env |= {name.upper(): value for name, value in settings.items()}
        workdir = tmp_path / f"server-{port}"  # no stray .env file gets read
        workdir.mkdir()
        log_path = workdir / "server.log"
        command = [str(Path(sys.executable).with_name("todo-api")), "serve", "--port", str(port)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        server = Server(port=port, process=process, log_path=log_path, env=env)
        servers.append(server)
        server.wait_until_up()
        return server

    yield start
    for server in servers:
        server.stop()


class DisposablePostgres:
    """A PostgreSQL server of our own in a temporary directory, which tests may crash at will.

    The shared server on port 5432 must never be stopped; this one is initialised by `initdb`,
    listens on a free port on 127.0.0.1 only, and runs as the `postgres` OS user (PostgreSQL
    refuses to run as root).
    """

    def __init__(self) -> None:
        if not POSTGRES_ROOTS:
            pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = POSTGRES_ROOTS[-1]
        self.port = free_port()
        self.os_user = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="todo-api-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.os_user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.os_user, "--", *command]
        return command

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            self._command(tool, *args), capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            pytest.fail(f"{tool} failed: {result.stdout}{result.stderr}\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` kills it without a shutdown, as a crash would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs, and delete its files."""
        subprocess.run(
            self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def disposable_postgres() -> Iterator[DisposablePostgres]:
    """A running PostgreSQL of this test's own, removed afterwards."""
    server = DisposablePostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


class FreezableProxy:
    """A TCP proxy to the database that can go silent, as a network partition does.

    While frozen, it keeps every connection open but forwards nothing, and accepts new ones
    without connecting them onward: the service sees a database that never answers, which
    no refused connection or reset would show.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.url = ""  # the database URL through this proxy, set by the fixture
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._sockets.append(client)
        self.flowing.wait()
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self._sockets.append(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self.flowing.set()
        self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def freezable_proxy(database_url: str) -> Iterator[FreezableProxy]:
    """A proxy in front of this test's PostgreSQL database; `.url` reaches it through the proxy."""
    url = make_url(database_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy
    proxy.close()
