"""Safe concurrent edits: ETags with If-Match (412) and If-None-Match (304); Idempotency-Key."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, part, query
from todo_api.core.database import Store
from todo_api.core.errors import PreconditionFailed
from todo_api.main import create_app
from todo_api.tasks import idempotency
from todo_api.tasks import service as task_service

TASKS = "/api/alice/tasks"


def with_header(headers: Headers, name: str, value: str) -> Headers:
    return headers | {name: value}


# --- ETags ------------------------------------------------------------------------------------


def test_every_task_response_carries_an_etag_that_changes_with_writes(
    client: TestClient, alice: Headers
) -> None:
    created = client.post(TASKS, json={"title": "t"}, headers=alice)
    url = f"{TASKS}/{created.json()['id']}"
    tags = [created.headers["etag"]]
    tags.append(client.get(url, headers=alice).headers["etag"])
    assert tags[1] == tags[0]
    tags.append(client.put(url, json={"title": "u"}, headers=alice).headers["etag"])
    tags.append(client.patch(url, json={"title": "v"}, headers=alice).headers["etag"])
    tags.append(client.patch(f"{url}/complete", headers=alice).headers["etag"])
    assert len(set(tags[1:])) == 4
    assert all(tag.startswith('"') and tag.endswith('"') for tag in tags)
    assert client.get(url, headers=alice).headers["etag"] == tags[-1]


WRITES = [
    ("PUT", "", {"title": "stale"}),
    ("PATCH", "", {"title": "stale"}),
    ("PATCH", "/complete", None),
    ("DELETE", "", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
def test_if_match_with_an_old_etag_is_412_and_changes_nothing(
    client: TestClient, alice: Headers, method: str, suffix: str, body
) -> None:
    created = client.post(TASKS, json={"title": "t"}, headers=alice)
    url = f"{TASKS}/{created.json()['id']}"
    old = created.headers["etag"]
    client.put(url, json={"title": "changed by someone else"}, headers=alice)
    before = query(client, "SELECT * FROM task")
    response = client.request(
        method, url + suffix, json=body, headers=with_header(alice, "If-Match", old)
    )
    assert response.status_code == 412
    assert "detail" in response.json()
    assert query(client, "SELECT * FROM task") == before


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
def test_if_match_with_the_current_etag_writes(
    client: TestClient, alice: Headers, method: str, suffix: str, body
) -> None:
    created = client.post(TASKS, json={"title": "t"}, headers=alice)
    url = f"{TASKS}/{created.json()['id']}"
    headers = with_header(alice, "If-Match", f'"nope", {created.headers["etag"]}')
    response = client.request(method, url + suffix, json=body, headers=headers)
    assert response.status_code in (200, 204)
    after = query(client, "SELECT version FROM task")
    assert after == ([] if method == "DELETE" else [{"version": 2}])


def test_if_match_star_matches_any_version(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task()
    headers = with_header(alice, "If-Match", "*")
    response = client.put(f"{TASKS}/{task['id']}", json={"title": "x"}, headers=headers)
    assert response.status_code == 200


def test_weak_etag_never_satisfies_if_match(client: TestClient, alice: Headers) -> None:
    created = client.post(TASKS, json={"title": "t"}, headers=alice)
    headers = with_header(alice, "If-Match", "W/" + created.headers["etag"])
    response = client.put(f"{TASKS}/{created.json()['id']}", json={"title": "x"}, headers=headers)
    assert response.status_code == 412


def test_if_match_on_another_users_task_is_404(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    task = create_task(headers=bob, user="bob")
    headers = with_header(alice, "If-Match", "*")
    assert client.delete(f"{TASKS}/{task['id']}", headers=headers).status_code == 404
    assert len(query(client, "SELECT id FROM task")) == 1


def test_if_match_on_a_recurring_task_is_checked_too(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(recurrence="daily", due_date="2030-01-01")
    url = f"{TASKS}/{task['id']}"
    client.patch(url, json={"title": "changed"}, headers=alice)
    headers = with_header(alice, "If-Match", '"1-0"')
    assert client.patch(f"{url}/complete", headers=headers).status_code == 412
    assert len(query(client, "SELECT id FROM task")) == 1


def test_if_none_match_with_the_current_etag_is_304(client: TestClient, alice: Headers) -> None:
    created = client.post(TASKS, json={"title": "t"}, headers=alice)
    url = f"{TASKS}/{created.json()['id']}"
    response = client.get(url, headers=with_header(alice, "If-None-Match", created.headers["etag"]))
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == created.headers["etag"]
    weak = "W/" + created.headers["etag"]
    assert client.get(url, headers=with_header(alice, "If-None-Match", weak)).status_code == 304


def test_if_none_match_with_an_old_etag_returns_the_task(
    client: TestClient, alice: Headers
) -> None:
    created = client.post(TASKS, json={"title": "t"}, headers=alice)
    url = f"{TASKS}/{created.json()['id']}"
    client.put(url, json={"title": "new"}, headers=alice)
    response = client.get(url, headers=with_header(alice, "If-None-Match", created.headers["etag"]))
    assert response.status_code == 200
    assert response.json()["title"] == "new"


def test_if_none_match_does_not_reveal_another_users_task(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    task = create_task(headers=bob, user="bob")
    headers = with_header(alice, "If-None-Match", "*")
    assert client.get(f"{TASKS}/{task['id']}", headers=headers).status_code == 404


def test_a_recreated_id_does_not_match_the_deleted_tasks_etag(
    client: TestClient, alice: Headers
) -> None:
    first = client.post(TASKS, json={"title": "t"}, headers=alice)
    client.delete(f"{TASKS}/{first.json()['id']}", headers=alice)
    second = client.post(TASKS, json={"title": "t"}, headers=alice)
    assert second.headers["etag"] != first.headers["etag"]


# --- Idempotency-Key --------------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_response_and_creates_nothing(
    client: TestClient, alice: Headers
) -> None:
    headers = with_header(alice, "Idempotency-Key", "retry-1")
    first = client.post(TASKS, json={"title": "once"}, headers=headers)
    again = client.post(TASKS, json={"title": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert query(client, "SELECT title FROM task") == [{"title": "once"}]


def test_same_key_with_another_body_is_422_and_creates_nothing(
    client: TestClient, alice: Headers
) -> None:
    headers = with_header(alice, "Idempotency-Key", "retry-2")
    client.post(TASKS, json={"title": "once"}, headers=headers)
    response = client.post(TASKS, json={"title": "twice"}, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert query(client, "SELECT title FROM task") == [{"title": "once"}]


def test_same_key_of_another_user_is_independent(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    client.post(TASKS, json={"title": "a"}, headers=with_header(alice, "Idempotency-Key", "k"))
    response = client.post(
        "/api/bob/tasks", json={"title": "b"}, headers=with_header(bob, "Idempotency-Key", "k")
    )
    assert response.status_code == 201
    assert response.json()["user_id"] == "bob"
    assert len(query(client, "SELECT id FROM task")) == 2


def test_different_keys_create_different_tasks(client: TestClient, alice: Headers) -> None:
    for key in ("k1", "k2"):
        client.post(TASKS, json={"title": "t"}, headers=with_header(alice, "Idempotency-Key", key))
    assert len(query(client, "SELECT id FROM task")) == 2


def test_keys_are_stored_and_expire_after_24_hours(client: TestClient, alice: Headers) -> None:
    headers = with_header(alice, "Idempotency-Key", "old")
    client.post(TASKS, json={"title": "t"}, headers=headers)
    rows = query(client, "SELECT user_id, key, status_code FROM idempotency_key")
    assert rows == [{"user_id": "alice", "key": "old", "status_code": 201}]
    long_ago = datetime.now(UTC) - timedelta(hours=24, seconds=1)
    query(client, "UPDATE idempotency_key SET created_at = :t", t=long_ago)
    response = client.post(TASKS, json={"title": "t"}, headers=headers)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert len(query(client, "SELECT id FROM task")) == 2
    assert len(query(client, "SELECT key FROM idempotency_key")) == 1


def test_keys_survive_an_app_restart(app, settings, alice: Headers) -> None:
    headers = with_header(alice, "Idempotency-Key", "across-replicas")
    with TestClient(app) as client:
        first = client.post(TASKS, json={"title": "t"}, headers=headers).json()
    with TestClient(create_app(settings)) as client:
        again = client.post(TASKS, json={"title": "t"}, headers=headers)
        assert again.json() == first
        assert len(query(client, "SELECT id FROM task")) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\tkey", "é".encode()])
def test_malformed_idempotency_keys_are_422(client: TestClient, alice: Headers, key) -> None:
    headers = alice | {"Idempotency-Key": key}
    response = client.post(TASKS, json={"title": "t"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert query(client, "SELECT id FROM task") == []


def test_invalid_body_with_a_key_stores_no_key(client: TestClient, alice: Headers) -> None:
    headers = with_header(alice, "Idempotency-Key", "bad-body")
    assert client.post(TASKS, json={"title": ""}, headers=headers).status_code == 422
    assert client.post(TASKS, json={"title": "ok"}, headers=headers).status_code == 201


@pytest.mark.parametrize("write", ["update", "toggle", "delete"])
def test_a_write_racing_past_the_if_match_check_still_fails(
    client: TestClient, alice: Headers, create_task, write: str
) -> None:
    # Both requests loaded version 1 and passed the check; the first one wrote: the version
    # in the statement's WHERE stops the second.
    task = create_task()
    store = part(client, Store)
    stale = client.portal.call(task_service.get_task, store.db, "alice", task["id"])
    client.put(f"{TASKS}/{task['id']}", json={"title": "first"}, headers=alice)
    calls = {
        "update": (task_service.update_task, store, stale, {"title": "second"}, 1),
        "toggle": (task_service.toggle_task, store, stale, 1),
        "delete": (task_service.delete_task, store, stale, 1),
    }
    with pytest.raises(PreconditionFailed):
        client.portal.call(*calls[write])
    assert query(client, "SELECT title, completed, version FROM task") == [
        {"title": "first", "completed": False, "version": 2}
    ]


def test_a_toggle_of_a_task_changed_since_it_was_read_flips_it_as_it_is_now(
    client: TestClient, alice: Headers, create_task
) -> None:
    # Without If-Match, a toggle worked out from a stale read finds the task moved on: it
    # flips the stored task, keeping the other write, and logs what it stored.
    task = create_task()
    store = part(client, Store)
    stale = client.portal.call(task_service.get_task, store.db, "alice", task["id"])
    client.put(f"{TASKS}/{task['id']}", json={"title": "first"}, headers=alice)
    written = client.portal.call(task_service.toggle_task, store, stale)
    assert (written["title"], written["completed"], written["version"]) == ("first", True, 3)
    shown = client.get(f"{TASKS}/{task['id']}", headers=alice).json()
    logged = client.get("/api/alice/changes", headers=alice).json()["changes"][-1]["task"]
    assert logged == shown


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"description": 'Ünïcode ✓ and "quotes"', "priority": "high", "tags": ["a", "b"]},
        {"due_date": "2026-01-02"},
        {"due_at": "2030-01-02T03:04:05.678901Z"},
        {"completed": True},
    ],
)
def test_a_toggle_logs_the_task_exactly_as_it_is_then_read(
    client: TestClient, alice: Headers, create_task, fields
) -> None:
    # The toggle's change is worked out before its write, from the task as read: it must be
    # what reading the task gives afterwards, field for field, either way.
    task = create_task(**fields)
    for _ in range(2):
        toggled = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice)
        assert toggled.status_code == 200
        shown = client.get(f"{TASKS}/{task['id']}", headers=alice)
        change = client.get("/api/alice/changes", headers=alice).json()["changes"][-1]
        assert change["type"] == "task.updated"
        assert change["task"] == shown.json() == toggled.json()
        assert shown.headers["etag"] == toggled.headers["etag"]


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("patch", {"title": "Renamed"}),
        ("patch", {"description": None, "priority": "low", "tags": ["x", "ÿ"]}),
        ("patch", {"due_at": "2030-01-02T03:04:05.678+02:00"}),
        ("patch", {"due_date": "2031-05-06"}),
        ("patch", {"due_at": None}),
        ("patch", {"recurrence": "weekly", "recurrence_interval": 2}),
        ("patch", {"completed": True}),
        ("patch", {"completed": False, "title": "Again"}),
        ("put", {"title": "Whole", "description": "put", "completed": True, "priority": "high"}),
        ("put", {"title": "Bare"}),
    ],
)
def test_an_edit_logs_the_task_exactly_as_it_is_then_read(
    client: TestClient, alice: Headers, create_task, method: str, body: dict
) -> None:
    # The edit's change is worked out before its write, from the task as read: it must be
    # what reading the task gives afterwards, field for field.
    task = create_task(description="d", due_at="2029-12-31T23:00:00Z", tags=["t"])
    url = f"{TASKS}/{task['id']}"
    edited = getattr(client, method)(url, json=body, headers=alice)
    assert edited.status_code == 200, edited.text
    shown = client.get(url, headers=alice)
    change = client.get("/api/alice/changes", headers=alice).json()["changes"][-1]
    assert change["type"] == "task.updated"
    assert change["task"] == shown.json() == edited.json()
    assert shown.headers["etag"] == edited.headers["etag"]


def test_a_delete_of_a_task_that_got_a_subtask_since_it_was_read_deletes_that_too(
    client: TestClient, alice: Headers, create_task
) -> None:
    # Read alone in its tree; a subtask added since moved its version on: the delete falls back
    # to deleting the whole subtree, each a logged tombstone.
    task = create_task()
    store = part(client, Store)
    stale = client.portal.call(task_service.get_task, store.db, "alice", task["id"])
    subtask = create_task("under it", parent_id=task["id"])
    client.portal.call(task_service.delete_task, store, stale)
    assert query(client, "SELECT id FROM task") == []
    changes = client.get("/api/alice/changes", headers=alice).json()["changes"]
    tombstones = [c["task_id"] for c in changes if c["type"] == "task.deleted"]
    assert sorted(tombstones) == sorted([task["id"], subtask["id"]])


def test_a_delete_logs_one_tombstone_and_a_second_delete_is_404(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task()
    assert client.delete(f"{TASKS}/{task['id']}", headers=alice).status_code == 204
    assert client.delete(f"{TASKS}/{task['id']}", headers=alice).status_code == 404
    changes = client.get("/api/alice/changes", headers=alice).json()["changes"]
    assert [(c["type"], c["task_id"], c["task"]) for c in changes[1:]] == [
        ("task.deleted", task["id"], None)
    ]


def test_a_retry_racing_the_first_request_replays_instead_of_creating(
    client: TestClient, alice: Headers, monkeypatch
) -> None:
    # The retry looked the key up before the first request committed, so it goes on to insert:
    # the key's primary key refuses it, its task is rolled back, and it replays the first.
    headers = with_header(alice, "Idempotency-Key", "race")
    first = client.post(TASKS, json={"title": "t"}, headers=headers).json()
    db = part(client, Store).db
    lookup = db.fetch_one
    missed = []

    async def fetch_one(statement, params=None):
        if statement is idempotency._GET_KEY and not missed:
            missed.append(statement)
            return None
        return await lookup(statement, params)

    monkeypatch.setattr(db, "fetch_one", fetch_one)
    again = client.post(TASKS, json={"title": "t"}, headers=headers)
    assert missed
    assert again.status_code == 201
    assert again.json() == first
    assert again.headers["idempotent-replayed"] == "true"
    assert len(query(client, "SELECT id FROM task")) == 1


def test_idempotent_create_recreates_a_user_row_deleted_behind_our_back(
    client: TestClient, alice: Headers
) -> None:
    client.get(TASKS, headers=alice)
    query(client, "DELETE FROM \"user\" WHERE id = 'alice'")
    headers = with_header(alice, "Idempotency-Key", "after-delete")
    response = client.post(TASKS, json={"title": "still works"}, headers=headers)
    assert response.status_code == 201
    assert query(client, 'SELECT id FROM "user"') == [{"id": "alice"}]
    assert query(client, "SELECT key FROM idempotency_key") == [{"key": "after-delete"}]
