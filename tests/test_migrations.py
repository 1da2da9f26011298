"""Migration 0002 upgrades a core-schema (0001) database with data in it, losing nothing."""

import asyncio
import hashlib
import json
from datetime import UTC, datetime

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import bearer, make_token
from todo_api.accounts.passwords import password_hash
from todo_api.core.config import Settings
from todo_api.core.database import create_engine, upgrade_schema
from todo_api.core.database.migrations import alembic_config
from todo_api.main import create_app

# Each test starts from an empty database and migrates it itself.
pytestmark = pytest.mark.empty_database

CREATED = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
UPDATED = datetime(2026, 11, 21, 9, 45, tzinfo=UTC)
OLD_TASKS = [
    (1, "alice", "Buy milk", "2 l", False),
    (2, "alice", "Ünïcödé ✓", None, True),
    (3, "bob", "Bob's", "private", False),
    (7, "alice", "After a gap", None, True),
]


async def _migrate_to(settings: Settings, revision: str, *, downgrade: bool = False) -> None:
    engine = create_engine(settings)

    def run(connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def _seed_core_schema(settings: Settings) -> None:
    await _migrate_to(settings, "0001")
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for user in ("alice", "bob"):
                await connection.execute(
                    text(
                        'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", '
                        '"updatedAt") VALUES (:id, :id, :email, false, :t, :t)'
                    ),
                    {"id": user, "email": f"{user}@example.com", "t": CREATED},
                )
            for task_id, user, title, description, completed in OLD_TASKS:
                await connection.execute(
                    text(
                        "INSERT INTO task (id, user_id, title, description, completed, "
                        "created_at, updated_at) VALUES (:id, :user, :title, :description, "
                        ":completed, :created, :updated)"
                    ),
                    {
                        "id": task_id,
                        "user": user,
                        "title": title,
                        "description": description,
                        "completed": completed,
                        "created": CREATED,
                        "updated": UPDATED,
                    },
                )
            if connection.dialect.name == "postgresql":
                # What SERIAL would say after inserts through the old service.
                await connection.execute(text("SELECT setval('task_id_seq', 7)"))
    finally:
        await engine.dispose()


async def _upgrade_as_the_service_does(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await upgrade_schema(engine)
    finally:
        await engine.dispose()


async def _rows(settings: Settings, sql: str) -> list[dict]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(text(sql))).mappings()]
    finally:
        await engine.dispose()


def test_upgrade_from_0001_keeps_every_row_and_fills_defaults(settings: Settings) -> None:
    asyncio.run(_seed_core_schema(settings))
    asyncio.run(_upgrade_as_the_service_does(settings))
    rows = asyncio.run(
        _rows(
            settings,
            "SELECT id, user_id, title, description, completed, completed_at, updated_at, "
            "priority, due_date, due_at, tags, recurrence, recurrence_interval, version "
            "FROM task ORDER BY id",
        )
    )
    assert [
        (r["id"], r["user_id"], r["title"], r["description"], bool(r["completed"])) for r in rows
    ] == OLD_TASKS
    for row in rows:
        tags = json.loads(row["tags"]) if isinstance(row["tags"], str) else row["tags"]
        assert (row["priority"], tags, row["version"], row["recurrence_interval"]) == (0, [], 1, 1)
        assert (row["due_date"], row["due_at"], row["recurrence"]) == (None, None, None)
        # Completed before the migration: the last change is the best completion time.
        assert (row["completed_at"] is not None) == bool(row["completed"])
        if row["completed"]:
            assert row["completed_at"] == row["updated_at"]


def test_upgraded_database_serves_old_and_new_tasks(settings: Settings) -> None:
    asyncio.run(_seed_core_schema(settings))
    alice = bearer(make_token("alice", email="alice@example.com"))
    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/alice/tasks", headers=alice).json()
        assert [(t["id"], t["title"], t["completed"]) for t in listed] == [
            (1, "Buy milk", False),
            (2, "Ünïcödé ✓", True),
            (7, "After a gap", True),
        ]
        assert listed[1]["completed_at"] == "2026-11-21T09:45:00Z"
        assert listed[0]["created_at"] == "2026-11-20T08:30:00Z"
        patched = client.patch("/api/alice/tasks/1", json={"priority": "high"}, headers=alice)
        assert patched.json()["version"] == 2
        created = client.post("/api/alice/tasks", json={"title": "new"}, headers=alice).json()
        assert created["id"] == 8


def test_upgraded_tasks_keep_their_order_and_can_be_moved(settings: Settings) -> None:
    """0016 gives every task a position in creation order, before any task made after it."""
    asyncio.run(_seed_core_schema(settings))
    alice = bearer(make_token("alice", email="alice@example.com"))
    with TestClient(create_app(settings)) as client:
        created = client.post("/api/alice/tasks", json={"title": "new"}, headers=alice).json()

        def ordered() -> list[int]:
            params = {"sort": "position"}
            return [
                t["id"] for t in client.get("/api/alice/tasks", params=params, headers=alice).json()
            ]

        assert ordered() == [1, 2, 7, created["id"]]
        moved = client.post("/api/alice/tasks/7/move", json={"after_id": 1}, headers=alice)
        assert moved.status_code == 200, moved.text
        assert ordered() == [1, 7, 2, created["id"]]
        assert {t["list_id"] for t in client.get("/api/alice/tasks", headers=alice).json()} == {
            None
        }


def test_downgrade_to_0001_keeps_the_core_rows(settings: Settings) -> None:
    asyncio.run(_seed_core_schema(settings))
    asyncio.run(_migrate_to(settings, "head"))
    asyncio.run(_migrate_to(settings, "0001", downgrade=True))
    rows = asyncio.run(_rows(settings, "SELECT id, title FROM task ORDER BY id"))
    assert [(r["id"], r["title"]) for r in rows] == [(t[0], t[2]) for t in OLD_TASKS]
    asyncio.run(_migrate_to(settings, "head"))


def test_search_gets_trigram_indexes_on_postgresql(settings: Settings) -> None:
    if not settings.effective_database_url.startswith("postgres"):
        pytest.skip("SQLite has no trigram indexes; search scans the user's tasks there")
    asyncio.run(_migrate_to(settings, "head"))
    rows = asyncio.run(
        _rows(settings, "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm'")
    )
    assert {r["indexname"] for r in rows} == {"ix_task_title_trgm", "ix_task_description_trgm"}


def test_upgrade_to_0004_moves_own_accounts_addresses_out_of_the_user_table(
    settings: Settings,
) -> None:
    """Accounts signed up before 0004 keep signing in; their address leaves `user.email`."""
    asyncio.run(_migrate_to(settings, "0003"))
    password = "a long enough passphrase"

    async def seed() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                for user, verified in (("own", False), ("verified", True), ("ba", True)):
                    await connection.execute(
                        text(
                            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", '
                            '"updatedAt") VALUES (:id, :id, :email, :verified, :t, :t)'
                        ),
                        {
                            "id": user,
                            "email": f"{user}@example.com",
                            "verified": verified,
                            "t": CREATED,
                        },
                    )
                for user in ("own", "verified"):
                    await connection.execute(
                        text(
                            "INSERT INTO credential (user_id, password_hash, created_at, "
                            "updated_at) VALUES (:id, :hash, :t, :t)"
                        ),
                        {"id": user, "hash": password_hash.hash(password), "t": CREATED},
                    )
        finally:
            await engine.dispose()

    asyncio.run(seed())
    asyncio.run(_migrate_to(settings, "head"))
    users = asyncio.run(_rows(settings, 'SELECT id, email FROM "user" ORDER BY id'))
    assert users == [
        {"id": "ba", "email": "ba@example.com"},
        {"id": "own", "email": "own@users.invalid"},
        {"id": "verified", "email": "verified@example.com"},
    ]
    with TestClient(create_app(settings)) as client:
        for user in ("own", "verified"):
            body = {"email": f"{user}@example.com", "password": password}
            assert client.post("/api/auth/sign-in", json=body).status_code == 200
    asyncio.run(_migrate_to(settings, "0003", downgrade=True))
    users = asyncio.run(_rows(settings, 'SELECT id, email FROM "user" ORDER BY id'))
    assert [user["email"] for user in users] == [
        f"{u}@example.com" for u in ("ba", "own", "verified")
    ]
    asyncio.run(_migrate_to(settings, "head"))


def test_upgrade_to_0005_keeps_live_idempotency_keys_replaying(settings: Settings) -> None:
    asyncio.run(_seed_core_schema(settings))
    asyncio.run(_migrate_to(settings, "0004"))
    response = {"id": 7, "title": "After a gap"}

    async def seed() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO idempotency_key (user_id, key, request_hash, status_code, "
                        "response, created_at) VALUES ('alice', 'k', :hash, 201, :response, :t)"
                    ),
                    {
                        "hash": hashlib.sha256(b'{"title":"x"}').hexdigest(),
                        "response": json.dumps(response),
                        "t": datetime.now(UTC),
                    },
                )
        finally:
            await engine.dispose()

    asyncio.run(seed())
    asyncio.run(_migrate_to(settings, "head"))
    rows = asyncio.run(_rows(settings, "SELECT key, task_id FROM idempotency_key"))
    assert rows == [{"key": "k", "task_id": 7}]
