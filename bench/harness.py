"""What every benchmark starts from: the service's command and settings, the ceiling's, a
database of its own with seeded tasks, and server processes on free ports."""

import asyncio
import atexit
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx2 as httpx
from sqlalchemy.engine import make_url

HERE = Path(__file__).parent
ROOT = HERE.parent
SECRET = secrets.token_urlsafe(48)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench"
TODO_API = str(Path(sys.executable).parent / "todo-api")
# The ceiling (bench/ceiling.py) on uvicorn, as the service runs, without its access log.
CEILING = [
    sys.executable,
    "-m",
    "uvicorn",
    "bench.ceiling:app",
    "--port",
    "{port}",
    "--no-access-log",
    "--no-server-header",
    "--log-level",
    "warning",
]
# How every benchmarked service runs: as in production, without a task cap or rate limits
# (and the stream benchmark holds thousands of one user's streams, from one address).
SERVICE_ENV = {
    "BETTER_AUTH_SECRET": SECRET,
    "ENVIRONMENT": "production",
    "MAX_TASKS_PER_USER": "0",
    "RATE_LIMIT_ENABLED": "false",
    "EVENTS_MAX_STREAMS_PER_USER": "100000",
    "EVENTS_MAX_STREAMS_PER_ADDRESS": "100000",
}
CREATE_BODY = '{"title": "Benchmark task", "description": "created by wrk"}'
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A seeded task's position from its number `n`: an integer key of fractional indexing (`e` and
# five base-62 digits), in the order of `n`, as migration 0016 gives existing tasks.
POSITION_OF_N = "'e' || " + " || ".join(
    f"substr('{_BASE62}', (n / {62**power}) % 62 + 1, 1)" for power in reversed(range(5))
)


# --- setup ------------------------------------------------------------------------------------


async def recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = await connect(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = await connect(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await admin.close()


def migrated_database(url: str, **settings: str) -> dict[str, str]:
    """A fresh database at `url`, migrated, and dropped however the run ends (it is the
    benchmark's own); the environment a service runs on it with (`settings` on top)."""
    asyncio.run(recreate_database(url))
    atexit.register(lambda: asyncio.run(drop_database(url)))
    env = os.environ | SERVICE_ENV | {"DATABASE_URL": url} | settings
    subprocess.run([TODO_API, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def seed_tasks(url: str, user_id: str, count: int) -> tuple[int, int]:
    """Give `user_id` `count` tasks (one INSERT … SELECT); the first and last new ids."""
    connection = await connect(url)
    try:
        await connection.execute(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "VALUES ($1, $1, $1 || '@bench.invalid', false, now(), now()) "
            "ON CONFLICT DO NOTHING",
            user_id,
        )
        # Revisions from before manual order (bench.revisions serves them) have no position.
        ordered = await connection.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'task' AND column_name = 'position'"
        )
        position = (", position", f", {POSITION_OF_N}") if ordered else ("", "")
        row = await connection.fetchrow(
            "WITH new AS (INSERT INTO task (user_id, title, description, completed, "
            f"created_at, updated_at{position[0]}) SELECT $1, 'Task ' || n, "
            f"'Seeded by the benchmark', n % 3 = 0, now(), now(){position[1]} "
            "FROM generate_series(1, $2) AS n RETURNING id) "
            "SELECT min(id), max(id) FROM new",
            user_id,
            count,
        )
        await connection.execute("ANALYZE task")
        return row[0], row[1]
    finally:
        await connection.close()


async def seed_filler(url: str, users: int, per_user: int) -> None:
    """Many other users' tasks, so the table is as big as the benchmark says."""
    connection = await connect(url)
    try:
        await connection.execute(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "SELECT 'filler-' || u, 'filler', 'filler-' || u || '@bench.invalid', false, "
            "now(), now() FROM generate_series(1, $1) AS u",
            users,
        )
        await connection.execute(
            "INSERT INTO task (user_id, title, description, completed, created_at, updated_at, "
            "position) SELECT 'filler-' || u, 'Task ' || n, 'Seeded by the benchmark', "
            f"n % 3 = 0, now(), now(), {POSITION_OF_N} "
            "FROM generate_series(1, $1) AS u, generate_series(1, $2) AS n",
            users,
            per_user,
        )
        await connection.execute("VACUUM ANALYZE task")
    finally:
        await connection.close()


async def count_tasks(url: str) -> int:
    connection = await connect(url)
    try:
        return await connection.fetchval("SELECT count(*) FROM task")
    finally:
        await connection.close()


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process on a free port, stopped with SIGTERM."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path = ROOT
    ) -> None:
        self.name = name
        self.port = free_port()
        # Kept open for the server's whole life, closed with it.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [part.format(port=self.port) for part in command],
            env=env,
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.base + "/", timeout=1)
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"{name} did not start; see {self.log.name}")
                time.sleep(0.2)

    def rss_mb(self) -> float:
        """Resident memory of the (single) worker process."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        """Stop the server and delete its log (again: nothing to do)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
