"""The sequencer: committed changes are numbered into their user's log whoever wrote them,
including a process that died between its commit and its numbering."""

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from tests.conftest import TEST_DATABASE_URL, Headers, query
from todo_api import sequencer
from todo_api.config import Settings
from todo_api.db import open_database
from todo_api.main import create_app

# What a write leaves, unnumbered, when its process dies before its sequencer runs.
ORPHAN = (
    "INSERT INTO change_pending (user_id, type, task_id, task, at) "
    "VALUES (:owner, 'task.deleted', :task_id, NULL, :at)"
)


def _left_by_a_dead_process(client: TestClient, task_id: int, owner: str = "alice") -> None:
    query(client, ORPHAN, owner=owner, task_id=task_id, at=datetime.now(UTC))


def _wait_until_numbered(client: TestClient) -> None:
    deadline = time.monotonic() + 10
    while query(client, "SELECT id FROM change_pending") and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_read_numbers_the_changes_it_finds_pending(client, alice, create_task) -> None:
    task = create_task()
    _left_by_a_dead_process(client, task["id"])
    changes = client.get("/api/alice/changes", headers=alice).json()["changes"]
    assert [(c["type"], c["task_id"]) for c in changes] == [
        ("task.created", task["id"]),
        ("task.deleted", task["id"]),
    ]
    assert query(client, "SELECT id FROM change_pending") == []


def test_the_sweep_numbers_what_nobody_woke_it_for(
    make_settings: Callable[..., Settings],
    alice: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sequencer, "SWEEP_SECONDS", 0.2)
    with TestClient(create_app(make_settings())) as client:
        assert client.post("/api/alice/tasks", json={"title": "x"}, headers=alice).status_code
        _left_by_a_dead_process(client, 12345)
        _wait_until_numbered(client)
        numbered = query(client, 'SELECT seq, task_id FROM "change" ORDER BY seq')
    assert [row["task_id"] for row in numbered][-1] == 12345
    assert [row["seq"] for row in numbered] == list(range(1, len(numbered) + 1))


def test_shutdown_numbers_the_last_commits(
    make_settings: Callable[..., Settings], alice: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sequencer that would not run again for a minute: only its shutdown numbers them.
    monkeypatch.setattr(sequencer, "SWEEP_SECONDS", 60.0)
    monkeypatch.setattr(sequencer.ChangeSequencer, "wake_window_seconds", 60.0)
    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        for n in range(5):
            client.post("/api/alice/tasks", json={"title": f"t{n}"}, headers=alice)
        assert len(query(client, "SELECT id FROM change_pending")) == 5
    assert asyncio.run(_pending_and_numbered(settings)) == (0, 5)


async def _pending_and_numbered(settings: Settings) -> tuple[int, int]:
    db = await open_database(settings, migrate=False)
    try:
        pending = await db.fetch_all(text("SELECT id FROM change_pending"))
        numbered = await db.fetch_all(text('SELECT seq FROM "change"'))
    finally:
        await db.close()
    return len(pending), len(numbered)


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="the deadlock is between PostgreSQL's locks")
def test_a_read_whose_numbering_deadlocks_with_a_user_deletion_still_answers(
    make_settings: Callable[..., Settings],
    database_url: str,
    alice: Headers,
    bob: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sequencer, "SWEEP_SECONDS", 60.0)  # only the read numbers the orphans
    with TestClient(create_app(make_settings())) as client:
        task = client.post("/api/alice/tasks", json={"title": "mine"}, headers=alice).json()
        assert client.post("/api/bob/tasks", json={"title": "x"}, headers=bob).status_code == 201
        _wait_until_numbered(client)
        _left_by_a_dead_process(client, task["id"])
        _left_by_a_dead_process(client, 999, owner="bob")
        locked = threading.Event()
        outcome: list[str] = []
        deletion = threading.Thread(
            target=asyncio.run, args=(_delete_user_slowly(database_url, "bob", locked, outcome),)
        )
        deletion.start()
        assert locked.wait(10)
        # The read's numbering takes bob's pending change, then waits for bob's row; the
        # deletion then waits for that change: a cycle the database breaks.
        response = client.get("/api/alice/changes", headers=alice)
        deletion.join(30)
    # The round, waiting first, is the one the database rolled back: the read retried it.
    assert outcome == ["deleted"]
    assert response.status_code == 200, response.text
    changes = response.json()["changes"]
    assert [(c["type"], c["task_id"]) for c in changes][-1] == ("task.deleted", task["id"])


async def _delete_user_slowly(
    url: str, user_id: str, locked: threading.Event, outcome: list[str]
) -> None:
    """Delete a user as an account's deletion would, once another session waits for the row
    this one holds; `outcome` says whether the deletion went through or was rolled back."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute('SELECT id FROM "user" WHERE id = $1 FOR UPDATE', user_id)
            locked.set()
            for _ in range(500):  # 10 s at most
                # A transaction sees one snapshot of the activity view unless it clears it.
                await connection.execute("SELECT pg_stat_clear_snapshot()")
                if await connection.fetchval(_OTHERS_WAITING):
                    break
                await asyncio.sleep(0.02)
            await connection.execute('DELETE FROM "user" WHERE id = $1', user_id)
        outcome.append("deleted")
    except asyncpg.DeadlockDetectedError:
        outcome.append("rolled back")
    finally:
        await connection.close()


_OTHERS_WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)
