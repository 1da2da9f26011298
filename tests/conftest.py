"""Fixtures: a fresh database per test (a SQLite file, or PostgreSQL with TEST_DATABASE_URL).

The schema is migrated once per session: on SQLite each test gets a copy of that file; on
PostgreSQL each test uses that database, emptied again after it. A test marked `empty_database`
gets an empty database of its own instead (it migrates, or makes Better Auth's table first),
and one marked `own_database` (it changes the schema) a migrated one of its own.
"""

import asyncio
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import get_default_algorithms
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from tests.support.receiver import Receiver, serve_receiver
from tests.support.smtp import Mailbox, serve_smtp
from todo_api import tables  # noqa: F401  (every table on SQLModel's metadata)
from todo_api.accounts.tokens import issue_token
from todo_api.core.config import Settings
from todo_api.core.database import Store, create_engine, upgrade_schema
from todo_api.core.state import app_state
from todo_api.main import create_app

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 4  # 64+ bytes: long enough for HS512
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

Headers = dict[str, str]
T = TypeVar("T")


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first: with several workers, none is left running one alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """A worker per core and one more: much of a test's time is spent waiting on a server it
    started, a database or a timer, and the extra worker fills that idle time."""
    return (os.cpu_count() or 1) + 1


def pytest_report_header() -> str:
    return f"database: {TEST_DATABASE_URL or 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _pg_url(name: str) -> str:
    assert TEST_DATABASE_URL is not None
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    engine = create_engine(Settings(_env_file=None, database_url=url))
    try:
        await upgrade_schema(engine)
    finally:
        await engine.dispose()


async def _reset_statements(name: str) -> str:
    """What puts the migrated database `name` back as it was when migrated: every row deleted
    (children first; faster than TRUNCATE on tables this small), every sequence restarted, the
    change log's row and the schema's revision as the migrations wrote them."""
    connection = await asyncpg.connect(_pg_url(name))
    try:
        sequences = [
            row["sequencename"]
            for row in await connection.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        ]
        log = await connection.fetchrow("SELECT epoch, purged_through FROM change_log")
        version = await connection.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    assert log is not None and version is not None
    emptied = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name != "change_log"]
    return "; ".join(
        [
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            *(f'DELETE FROM "{table}"' for table in emptied),
            *(f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences),
            f"UPDATE change_log SET epoch = {log['epoch']}, purged_through = 0",
            f"UPDATE alembic_version SET version_num = '{version}'",
        ]
    )


@dataclass
class MigratedDatabase:
    """The database migrated once per session that tests copy (SQLite: `path`) or share,
    reset after each (PostgreSQL: `name`, and the statements that reset it)."""

    path: Path | None = None
    name: str = ""
    reset: str = ""


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabase]:
    """A database migrated to the newest revision, made once per session."""
    if TEST_DATABASE_URL is None:
        path = tmp_path_factory.mktemp("template") / "todo.db"
        asyncio.run(_migrate(f"sqlite:///{path}"))
        yield MigratedDatabase(path=path)
        return
    name = f"todo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate(_pg_url(name)))
        yield MigratedDatabase(name=name, reset=asyncio.run(_reset_statements(name)))
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _run_on(name: str, statements: str) -> None:
    connection = await asyncpg.connect(_pg_url(name))
    try:
        await connection.execute(statements)
    finally:
        await connection.close()


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_database: MigratedDatabase
) -> Iterator[str]:
    """A database of the kind under test, as if new: migrated, or empty for a test marked
    `empty_database`.

    SQLite: a copy of the migrated file. PostgreSQL: the session's migrated database, emptied
    again after the test (a new database from a template costs far more); a test marked
    `empty_database` or `own_database` (it changes the schema) gets one of its own, dropped
    afterwards.
    """
    empty = request.node.get_closest_marker("empty_database") is not None
    own = empty or request.node.get_closest_marker("own_database") is not None
    if TEST_DATABASE_URL is None:
        path = tmp_path / "todo.db"
        if not empty:
            assert migrated_database.path is not None
            shutil.copyfile(migrated_database.path, path)
        yield f"sqlite:///{path}"
        return
    if not own:
        try:
            yield _pg_url(migrated_database.name)
        finally:
            asyncio.run(_run_on(migrated_database.name, migrated_database.reset))
        return
    name = f"todo_test_{uuid.uuid4().hex[:12]}"
    template = "" if empty else f' TEMPLATE "{migrated_database.name}"'
    asyncio.run(_run_on(migrated_database.name, migrated_database.reset))  # no session left
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"{template}'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def make_settings(request: pytest.FixtureRequest, database_url: str) -> Callable[..., Settings]:
    """Settings for the test database; keyword arguments override fields. The app migrates
    at start-up only an empty database (the others are at the newest revision already; start-up
    migration has tests of its own)."""
    empty = request.node.get_closest_marker("empty_database") is not None

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "run_migrations_on_startup": empty,
            "better_auth_secret": TEST_SECRET,
            # Far above what any test sends; the rate-limit tests set their own.
            "rate_limit_per_user": "100000/minute",
            "rate_limit_per_ip": "100000/minute",
        } | overrides
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# Better Auth's own DDL for its `user` table (PostgreSQL; SQLite accepts it too).
BETTER_AUTH_USER_TABLE = """
CREATE TABLE "user" (
    "id" text NOT NULL PRIMARY KEY,
    "name" text NOT NULL,
    "email" text NOT NULL UNIQUE,
    "emailVerified" boolean NOT NULL,
    "image" text,
    "createdAt" timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    "updatedAt" timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL
)
"""


def create_better_auth_table(settings: Settings, *statements: str) -> None:
    """Make the database as Better Auth leaves it before the service ever starts."""

    async def run() -> None:
        engine = create_engine(settings)
        async with engine.begin() as connection:
            for statement in (BETTER_AUTH_USER_TABLE, *statements):
                await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


def make_token(sub: str | None = "alice", **claims: Any) -> str:
    """A valid HS256 token for the test secret."""
    return issue_token(TEST_SECRET, subject=sub, **claims)


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice() -> Headers:
    # As Better Auth's tokens carry it: an address its owner verified.
    return bearer(make_token("alice", email="alice@example.com", name="Alice", emailVerified=True))


@pytest.fixture
def bob() -> Headers:
    return bearer(make_token("bob"))


def part(client: TestClient, kind: type[T]) -> T:
    """What the app runs with, of this class (its store, horizon, jobs…)."""
    return app_state(client.app).get(kind)


def query(client: TestClient, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows straight from the app's database, to check what was really stored."""

    db = part(client, Store).db
    statement = text(sql)
    if sql.lstrip().upper().startswith(("SELECT", "PRAGMA", "WITH")):
        return client.portal.call(db.fetch_all, statement, params)
    client.portal.call(db.execute, statement, params)
    return []


@pytest.fixture
def create_task(client: TestClient, alice: Headers) -> Callable[..., dict[str, Any]]:
    """Create a task through the API (as alice unless headers are given) and return it."""

    def create(
        title: str = "Buy milk", headers: Headers = alice, user: str = "alice", **fields: Any
    ):
        response = client.post(
            f"/api/{user}/tasks", json={"title": title, **fields}, headers=headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


# --- Better Auth: real asymmetric keys, and their JWKS served over real HTTP ------------------


@dataclass(frozen=True)
class SigningKey:
    """A private key as Better Auth's JWT plugin holds it, and its public JWK."""

    kid: str
    alg: str
    private_key: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = get_default_algorithms()[self.alg]
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return jwk | {"kid": self.kid, "alg": self.alg, "use": "sig"}


def new_signing_key(alg: str, kid: str | None = None) -> SigningKey:
    """A freshly generated key for one of Better Auth's algorithms."""
    private_key = {
        "EdDSA": lambda: ed25519.Ed25519PrivateKey.generate(),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ES512": lambda: ec.generate_private_key(ec.SECP521R1()),
        "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }[alg]()
    return SigningKey(kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg, private_key)


JWKS_ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    """One key per algorithm, generated once per test run (RSA keys take a while)."""
    return {alg: new_signing_key(alg) for alg in JWKS_ALGORITHMS}


@dataclass
class BetterAuthServer:
    """A stand-in for a Better Auth frontend: serves the JWKS and signs tokens like it."""

    url: str
    keys: list[SigningKey]
    fetches: int = 0
    failing: bool = False
    body: bytes | None = None  # served instead of the JWKS when set
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def token(
        self,
        key: SigningKey | None = None,
        sub: str = "ba-user",
        *,
        expires_in: float = 900,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token shaped like Better Auth's: the user object, sub, iss = aud = base URL.

        Claims given as None are left out.
        """
        key = key or self.keys[0]
        now = int(time.time())
        payload = {
            "id": sub,
            "sub": sub,
            "email": f"{sub}@example.com",
            "name": sub.title(),
            "emailVerified": True,
            "iss": self.url,
            "aud": self.url,
            "iat": now,
            "exp": now + expires_in,
        } | claims
        return jwt.encode(
            {name: value for name, value in payload.items() if value is not None},
            key.private_key,
            algorithm=key.alg,
            headers={"kid": key.kid} | (headers or {}),
        )

    def stop(self) -> None:
        """Take the server down: connections are refused from now on."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def better_auth(signing_keys: dict[str, SigningKey]) -> Iterator[BetterAuthServer]:
    """A real HTTP server on 127.0.0.1 (free port) publishing every key of `signing_keys`."""
    state = BetterAuthServer(url="", keys=list(signing_keys.values()))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/api/auth/jwks":
                self.send_error(404)
                return
            state.fetches += 1
            if state.failing:
                self.send_error(503)
                return
            body = state.body or json.dumps({"keys": [k.public_jwk for k in state.keys]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    state._server = server
    # A short poll interval keeps shutdown (and so each test's teardown) quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop()
        thread.join(timeout=5)


@pytest.fixture
def jwks_client(
    make_settings: Callable[..., Settings], better_auth: BetterAuthServer
) -> Iterator[TestClient]:
    """The app verifying Better Auth's tokens (and, as by default, the shared secret's)."""
    with TestClient(create_app(make_settings(better_auth_url=better_auth.url))) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that verifies signatures (set `.secret` first)."""
    yield from serve_receiver()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives (`.url` for SMTP_URL)."""
    yield from serve_smtp()
