"""The log's horizon: changes are served only once every change before them is final, whoever
wrote them and in whatever order they committed."""

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from tests.conftest import TEST_DATABASE_URL, Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app
from todo_api.sync import horizon


def _changes(client: TestClient, headers: Headers, since: str | None = None) -> dict:
    params = {} if since is None else {"since": since}
    response = client.get("/api/alice/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_change_another_process_committed_is_served_without_word_from_it(
    client: TestClient, alice: Headers, create_task: Callable[..., dict]
) -> None:
    task = create_task()
    since = _changes(client, alice)["next"]
    # As a process that died between its commit and its announcement leaves it.
    query(
        client,
        'INSERT INTO "change" (user_id, kind, type, record_id, data, at) '
        "VALUES ('alice', 'task', 'task.deleted', :task_id, NULL, :at)",
        task_id=task["id"],
        at=datetime.now(UTC),
    )
    changes = _changes(client, alice, since)["changes"]
    assert [(c["type"], c["task_id"]) for c in changes] == [("task.deleted", task["id"])]


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SQLite commits one writer at a time")
def test_a_change_that_commits_late_comes_before_those_after_it(
    make_settings: Callable[..., Settings],
    database_url: str,
    alice: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(horizon, "FRESH_TIMEOUT_SECONDS", 0.5)
    with TestClient(create_app(make_settings())) as client:
        first = client.post("/api/alice/tasks", json={"title": "first"}, headers=alice).json()
        since = _changes(client, alice)["next"]
        holding, release, done = threading.Event(), threading.Event(), threading.Event()
        late = threading.Thread(
            target=asyncio.run,
            args=(_log_in_an_open_transaction(database_url, first["id"], holding, release, done),),
        )
        late.start()
        try:
            assert holding.wait(10)
            # Takes its id after the open transaction's, and commits first.
            second = client.post("/api/alice/tasks", json={"title": "second"}, headers=alice)
            assert second.status_code == 201
            withheld = _changes(client, alice, since)
        finally:
            release.set()
            late.join(10)
        assert done.is_set()
        assert withheld["changes"] == []  # not past the open transaction's change
        both = _changes(client, alice, withheld["next"])["changes"]
    assert [(c["type"], c["task_id"]) for c in both] == [
        ("task.deleted", first["id"]),
        ("task.created", second.json()["id"]),
    ]


async def _log_in_an_open_transaction(
    url: str,
    task_id: int,
    holding: threading.Event,
    release: threading.Event,
    done: threading.Event,
) -> None:
    """Log a change for alice, and hold its transaction open until `release`."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(
                'INSERT INTO "change" (user_id, kind, type, record_id, data, at) '
                "VALUES ('alice', 'task', 'task.deleted', $1, NULL, now())",
                task_id,
            )
            holding.set()
            await asyncio.to_thread(release.wait, 30)
        done.set()
    finally:
        await connection.close()


def test_announcements_fit_in_notify_payloads() -> None:
    users = {f"user-{n:05d}-{'x' * 24}" for n in range(2000)}
    payloads = horizon.payloads(123456789, users)
    assert len(payloads) > 1
    assert all(len(payload.encode()) < 8000 for payload in payloads)
    parsed = [horizon.parse_payload(payload) for payload in payloads]
    assert {position for position, _ in parsed} == {123456789}
    assert sorted(user for _, part in parsed for user in part) == sorted(users)
