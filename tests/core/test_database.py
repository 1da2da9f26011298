"""Database URLs, SQLite pragmas, and migrations against the real database under test."""

import asyncio
import socket
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import insert, text, update
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from tests.conftest import (
    TEST_DATABASE_URL,
    Headers,
    _pg_admin,
    bearer,
    create_better_auth_table,
    make_token,
    part,
    query,
)
from todo_api.accounts.models import User
from todo_api.core.config import ConfigError
from todo_api.core.database import (
    IntegrityViolation,
    Store,
    create_engine,
    database_target,
    include_in_comparison,
    upgrade_schema,
)
from todo_api.core.database.migrations import alembic_config
from todo_api.main import create_app
from todo_api.tasks.models import Task


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
    if part(client, Store).db.dialect_name != "sqlite":
        pytest.skip("SQLite pragmas")
    assert query(client, "PRAGMA foreign_keys") == [{"foreign_keys": 1}]
    assert query(client, "PRAGMA journal_mode") == [{"journal_mode": "wal"}]


def test_deleting_a_user_deletes_their_tasks(client: TestClient, alice: Headers) -> None:
    client.post("/api/alice/tasks", json={"title": "t"}, headers=alice)
    query(client, "DELETE FROM \"user\" WHERE id = 'alice'")
    assert query(client, "SELECT id FROM task") == []


def test_task_timestamps_are_stored_timezone_aware(client: TestClient, alice: Headers) -> None:
    client.post("/api/alice/tasks", json={"title": "t"}, headers=alice)
    if part(client, Store).db.dialect_name != "postgresql":
        pytest.skip("only PostgreSQL has a timestamptz type to inspect")
    rows = query(
        client,
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name IN ('task', 'user') AND data_type LIKE 'timestamp%'",
    )
    assert {row["data_type"] for row in rows} == {"timestamp with time zone"}
    # created/updated of both; a task's completed_at, due_at and next_reminder_at
    assert len(rows) == 7


def _schema_differences(settings) -> list:
    async def run() -> list:
        engine = create_engine(settings)
        try:
            await upgrade_schema(engine)
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(
                            sync,
                            opts={"compare_type": True, "include_object": include_in_comparison},
                        ),
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
            assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
        finally:
            for engine in engines:
                await engine.dispose()

    if settings.effective_database_url.startswith("sqlite"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers itself")
    asyncio.run(run())


@pytest.mark.empty_database
def test_a_better_auth_user_table_created_first_is_kept_and_shared(settings) -> None:
    create_better_auth_table(
        settings,
        'INSERT INTO "user" (id, name, email, "emailVerified") '
        "VALUES ('ba-user-1', 'Existing', 'existing@example.com', true)",
    )
    with TestClient(create_app(settings)) as client:
        headers = bearer(make_token("ba-user-1", email="existing@example.com", name="Changed"))
        response = client.post("/api/ba-user-1/tasks", json={"title": "t"}, headers=headers)
        assert response.status_code == 201
        users = query(client, 'SELECT id, name, "emailVerified" FROM "user"')
    # The token's profile claims refresh the row; Better Auth's own columns keep their values.
    assert users == [{"id": "ba-user-1", "name": "Changed", "emailVerified": True}]


# --- the Database layer -----------------------------------------------------------------------


def _new_user(user_id: str) -> dict:
    now = datetime.now(UTC)
    return {
        "id": user_id,
        "name": user_id,
        "email": f"{user_id}@example.com",
        "email_verified": False,
        "image": None,
        "created_at": now,
        "updated_at": now,
    }


def test_transaction_commits_together(client: TestClient) -> None:
    db = part(client, Store).db

    async def both() -> None:
        async with db.transaction() as tx:
            await tx.execute(insert(User).values(_new_user("one")))
            await tx.execute(insert(User).values(_new_user("two")))

    client.portal.call(both)
    assert query(client, 'SELECT id FROM "user" ORDER BY id') == [{"id": "one"}, {"id": "two"}]


def test_transaction_rolls_back_when_a_statement_fails(client: TestClient) -> None:
    db = part(client, Store).db

    async def half() -> None:
        async with db.transaction() as tx:
            await tx.execute(insert(User).values(_new_user("kept-only-if-committed")))
            await tx.execute(insert(User).values(_new_user("kept-only-if-committed")))

    with pytest.raises(IntegrityViolation):
        client.portal.call(half)
    assert query(client, 'SELECT id FROM "user"') == []


def test_constraint_violations_raise_integrity_violation(client: TestClient) -> None:
    db = part(client, Store).db
    client.portal.call(db.execute, insert(User).values(_new_user("dup")))
    with pytest.raises(IntegrityViolation):
        client.portal.call(db.execute, insert(User).values(_new_user("dup")))
    orphan = insert(Task.__table__).values(
        user_id="nobody",
        title="t",
        completed=False,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    with pytest.raises(IntegrityViolation):
        client.portal.call(db.execute, orphan)


def test_execute_counts_the_rows_it_touched(client: TestClient, alice: Headers) -> None:
    for title in ("a", "b", "c"):
        client.post("/api/alice/tasks", json={"title": title}, headers=alice)
    db = part(client, Store).db
    statement = update(Task.__table__).where(Task.__table__.c.title != "a").values(completed=True)
    assert client.portal.call(db.execute, statement) == 2


def test_unreachable_database_answers_503_and_recovers_nothing_lost(make_settings, alice) -> None:
    if not (TEST_DATABASE_URL or "").startswith("postgres"):
        pytest.skip("an unreachable server needs PostgreSQL")
    closed = make_url(TEST_DATABASE_URL).set(host="127.0.0.1", port=_closed_port())
    settings = make_settings(
        database_url=closed.render_as_string(hide_password=False),
        run_migrations_on_startup=False,
        db_connect_timeout_seconds=2,
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/alice/tasks", headers=alice)
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; try again shortly"}
    assert response.headers["Retry-After"] == "5"


def test_a_server_out_of_connections_answers_503(make_settings, alice) -> None:
    # PostgreSQL refusing one more connection (max_connections, a role's limit) is the
    # database being unavailable for now, not an error of the request.
    if not (TEST_DATABASE_URL or "").startswith("postgres"):
        pytest.skip("connection limits are PostgreSQL's")

    asyncio.run(_pg_admin("DROP ROLE IF EXISTS todo_no_connections"))
    asyncio.run(_pg_admin("CREATE ROLE todo_no_connections LOGIN CONNECTION LIMIT 0"))
    refused = make_url(TEST_DATABASE_URL).set(username="todo_no_connections")
    settings = make_settings(
        database_url=refused.render_as_string(hide_password=False),
        run_migrations_on_startup=False,
    )
    try:
        with TestClient(create_app(settings)) as client:
            response = client.get("/api/alice/tasks", headers=alice)
    finally:
        asyncio.run(_pg_admin("DROP ROLE todo_no_connections"))
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; try again shortly"}
    assert response.headers["Retry-After"] == "5"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
