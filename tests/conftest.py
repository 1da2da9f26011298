"""Fixtures: a fresh database per test (a SQLite file, or PostgreSQL with TEST_DATABASE_URL)."""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from todo_api.auth import issue_token
from todo_api.config import Settings
from todo_api.main import create_app

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 4  # 64+ bytes: long enough for HS512
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

Headers = dict[str, str]


def pytest_report_header() -> str:
    return f"database: {TEST_DATABASE_URL or 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test, dropped afterwards."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite:///{tmp_path / 'todo.db'}"
        return
    name = f"todo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    """Settings for the test database; keyword arguments override fields."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
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


def make_token(sub: str | None = "alice", **claims: Any) -> str:
    """A valid HS256 token for the test secret."""
    return issue_token(TEST_SECRET, subject=sub, **claims)


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice() -> Headers:
    return bearer(make_token("alice", email="alice@example.com", name="Alice"))


@pytest.fixture
def bob() -> Headers:
    return bearer(make_token("bob"))


def query(client: TestClient, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows straight from the app's database, to check what was really stored."""

    db = client.app.state.db
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
