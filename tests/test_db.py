"""Database URLs, SQLite pragmas, and migrations against the real database under test."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import SQLModel

from tests.conftest import Headers, bearer, make_token, query
from todo_api.config import ConfigError
from todo_api.db import create_engine, database_target, upgrade_schema
from todo_api.main import create_app


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sqlite:///./todo.db", "sqlite+aiosqlite:///./todo.db"),
        ("sqlite:////var/data/todo.db", "sqlite+aiosqlite:////var/data/todo.db"),
        ("postgresql://u:p@db.example/app", "postgresql+asyncpg://u:p@db.example/app"),
        ("postgres://u:p@db.example:6543/app", "postgresql+asyncpg://u:p@db.example:6543/app"),
        ("postgresql+psycopg://u@h/app", "postgresql+asyncpg://u@h/app"),
    ],
)
def test_pasted_urls_get_an_async_driver(raw: str, expected: str) -> None:
    target = database_target(raw)
    assert target.url.render_as_string(hide_password=False) == expected


def test_neon_url_parameters_become_asyncpg_arguments() -> None:
    target = database_target(
        "postgresql://neondb_owner:pw@ep-cool-fog-123.eu-central-1.aws.neon.tech/neondb"
        "?sslmode=require&channel_binding=require"
    )
    assert target.url.query == {}
    assert target.connect_args["ssl"] == "require"
    assert "statement_cache_size" not in target.connect_args


def test_neon_pooler_host_turns_prepared_statement_caches_off() -> None:
    target = database_target(
        "postgresql://u:pw@ep-cool-fog-123-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require"
    )
    assert target.connect_args["statement_cache_size"] == 0
    assert target.url.query == {"prepared_statement_cache_size": "0"}
    name_func = target.connect_args["prepared_statement_name_func"]
    assert name_func() != name_func()


@pytest.mark.parametrize(
    "raw", ["mysql://u@h/db", "not a url", "postgresql://u@h/db?sslmode=sometimes"]
)
def test_unusable_urls_are_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError):
        database_target(raw)


def test_sqlite_runs_with_foreign_keys_and_wal(client: TestClient) -> None:
    if client.app.state.db.dialect_name != "sqlite":
        pytest.skip("SQLite pragmas")
    assert query(client, "PRAGMA foreign_keys") == [{"foreign_keys": 1}]
    assert query(client, "PRAGMA journal_mode") == [{"journal_mode": "wal"}]


def test_deleting_a_user_deletes_their_tasks(client: TestClient, alice: Headers) -> None:
    client.post("/api/alice/tasks", json={"title": "t"}, headers=alice)
    query(client, "DELETE FROM \"user\" WHERE id = 'alice'")
    assert query(client, "SELECT id FROM task") == []


def test_task_timestamps_are_stored_timezone_aware(client: TestClient, alice: Headers) -> None:
    client.post("/api/alice/tasks", json={"title": "t"}, headers=alice)
    if client.app.state.db.dialect_name != "postgresql":
        pytest.skip("only PostgreSQL has a timestamptz type to inspect")
    rows = query(
        client,
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name IN ('task', 'user') AND data_type LIKE 'timestamp%'",
    )
    assert {row["data_type"] for row in rows} == {"timestamp with time zone"}
    assert len(rows) == 4


def _schema_differences(settings) -> list:
    async def run() -> list:
        engine = create_engine(settings)
        try:
            await upgrade_schema(engine)
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}),
                        SQLModel.metadata,
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_and_models_agree(settings) -> None:
    assert _schema_differences(settings) == []


def test_upgrade_is_idempotent_and_concurrent_upgrades_do_not_race(settings) -> None:
    async def run() -> None:
        engines = [create_engine(settings) for _ in range(3)]
        try:
            await asyncio.gather(*(upgrade_schema(engine) for engine in engines))
            await upgrade_schema(engines[0])
            async with engines[0].connect() as connection:
                version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            assert version == "0001"
        finally:
            for engine in engines:
                await engine.dispose()

    if settings.effective_database_url.startswith("sqlite"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers itself")
    asyncio.run(run())


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


def test_a_better_auth_user_table_created_first_is_left_alone(settings) -> None:
    async def create_better_auth_table() -> None:
        engine = create_engine(settings)
        async with engine.begin() as connection:
            await connection.execute(text(BETTER_AUTH_USER_TABLE))
            await connection.execute(
                text(
                    'INSERT INTO "user" (id, name, email, "emailVerified") '
                    "VALUES ('ba-user-1', 'Existing', 'existing@example.com', true)"
                )
            )
        await engine.dispose()

    asyncio.run(create_better_auth_table())
    with TestClient(create_app(settings)) as client:
        headers = bearer(make_token("ba-user-1", email="existing@example.com", name="Changed"))
        response = client.post("/api/ba-user-1/tasks", json={"title": "t"}, headers=headers)
        assert response.status_code == 201
        users = query(client, 'SELECT id, name, "emailVerified" FROM "user"')
    assert users == [{"id": "ba-user-1", "name": "Existing", "emailVerified": True}]
