"""The Idempotency-Key table stays bounded: expired keys of every user are purged, each user
holds a bounded number, and a key stores only what replaying needs. A key that cannot be one is
refused in words."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app

TASKS = "/api/alice/tasks"


def _create(client: TestClient, headers: Headers, key: str, title: str = "t"):
    return client.post(TASKS, json={"title": title}, headers=headers | {"Idempotency-Key": key})


def test_expired_keys_of_every_user_are_purged_not_only_the_sender_s(
    make_settings: Callable[..., Settings], alice: Headers, bob: Headers
) -> None:
    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        assert (
            client.post(
                "/api/bob/tasks", json={"title": "b"}, headers=bob | {"Idempotency-Key": "bob-1"}
            ).status_code
            == 201
        )
        long_ago = datetime.now(UTC) - timedelta(hours=25)
        query(client, "UPDATE idempotency_key SET created_at = :t", t=long_ago)
    # Bob never sends another key; a later process purges his anyway.
    with TestClient(create_app(settings)) as client:
        assert _create(client, alice, "alice-1").status_code == 201
        keys = query(client, "SELECT user_id, key FROM idempotency_key")
        assert keys == [{"user_id": "alice", "key": "alice-1"}]


def test_each_user_holds_at_most_the_configured_number_of_keys(
    make_settings: Callable[..., Settings], alice: Headers, bob: Headers
) -> None:
    with TestClient(create_app(make_settings(idempotency_keys_per_user=3))) as client:
        client.post("/api/bob/tasks", json={"title": "b"}, headers=bob | {"Idempotency-Key": "b"})
        for n in range(5):
            assert _create(client, alice, f"k{n}").status_code == 201
        alice_keys = query(
            client, "SELECT key FROM idempotency_key WHERE user_id = 'alice' ORDER BY key"
        )
        assert [row["key"] for row in alice_keys] == ["k2", "k3", "k4"]
        assert len(query(client, "SELECT key FROM idempotency_key WHERE user_id = 'bob'")) == 1
        # The newest keys still replay; the evicted oldest one creates again.
        assert _create(client, alice, "k4").headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in _create(client, alice, "k0").headers


def test_a_key_stores_the_task_s_id_not_its_whole_response(
    client: TestClient, alice: Headers
) -> None:
    description = "x" * 1000
    first = client.post(
        TASKS,
        json={"title": "t", "description": description},
        headers=alice | {"Idempotency-Key": "small"},
    )
    assert first.status_code == 201
    row = query(client, "SELECT * FROM idempotency_key")[0]
    assert row["task_id"] == first.json()["id"]
    assert description not in repr(row)
    again = client.post(
        TASKS,
        json={"title": "t", "description": description},
        headers=alice | {"Idempotency-Key": "small"},
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]


def test_a_replay_after_the_task_was_deleted_creates_nothing_and_says_so(
    client: TestClient, alice: Headers
) -> None:
    first = _create(client, alice, "gone")
    assert client.delete(f"{TASKS}/{first.json()['id']}", headers=alice).status_code == 204
    again = _create(client, alice, "gone")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "The task this Idempotency-Key created has been deleted since"
    }
    assert query(client, "SELECT id FROM task") == []


def test_a_key_that_is_not_visible_ascii_is_refused_in_words(
    client: TestClient, alice: Headers
) -> None:
    for key in ("5f1c…".encode(), b"two words", b"x" * 256):
        response = client.post(TASKS, json={"title": "t"}, headers=alice | {"Idempotency-Key": key})
        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["loc"] == ["header", "idempotency-key"]
        assert "visible ASCII characters only" in error["msg"]
        assert "\\x" not in error["msg"]  # no regular expression
    assert query(client, "SELECT id FROM task") == []
