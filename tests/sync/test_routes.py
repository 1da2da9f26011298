"""`GET /api/{user_id}/changes` and the change log behind it: every write, once, in order."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_DATABASE_URL, Headers, part, query
from todo_api.accounts import KnownUsers
from todo_api.core.clock import utcnow
from todo_api.core.database import Store
from todo_api.sync.cursors import ChangeCursor, InvalidCursor
from todo_api.sync.retention import purge


def changes_since(client: TestClient, headers: Headers, since: str | None = None, **params: Any):
    if since is not None:
        params["since"] = since
    response = client.get("/api/alice/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def cursor(client: TestClient, headers: Headers) -> str:
    response = client.get("/api/alice/tasks", headers=headers)
    assert response.status_code == 200
    return response.headers["X-Changes-Cursor"]


def test_every_kind_of_write_is_logged_once_in_order(client, alice, create_task) -> None:
    start = cursor(client, alice)
    first = create_task("Plain")
    put = client.put(f"/api/alice/tasks/{first['id']}", json={"title": "Put"}, headers=alice)
    patch = client.patch(f"/api/alice/tasks/{first['id']}", json={"tags": ["x"]}, headers=alice)
    toggled = client.patch(f"/api/alice/tasks/{first['id']}/complete", headers=alice)
    daily = create_task("Daily", recurrence="daily", due_date="2026-12-01")
    completed = client.patch(f"/api/alice/tasks/{daily['id']}/complete", headers=alice).json()
    occurrence_id = completed["next_occurrence_id"]
    spare = create_task("Spare")
    bulk = client.post(
        "/api/alice/tasks/bulk/complete", json={"ids": [spare["id"]]}, headers=alice
    ).json()
    deleted = client.delete(f"/api/alice/tasks/{occurrence_id}", headers=alice)
    cleared = client.delete("/api/alice/tasks/completed", headers=alice).json()
    assert deleted.status_code == 204 and bulk["ids"] == [spare["id"]]

    log = changes_since(client, alice, start)
    seen = [(change["type"], change["task_id"]) for change in log["changes"]]
    assert seen == [
        ("task.created", first["id"]),
        ("task.updated", first["id"]),  # PUT
        ("task.updated", first["id"]),  # PATCH
        ("task.updated", first["id"]),  # toggle
        ("task.created", daily["id"]),
        ("task.created", occurrence_id),  # the next occurrence, in the same transaction
        ("task.updated", daily["id"]),
        ("task.created", spare["id"]),
        ("task.updated", spare["id"]),  # bulk complete
        ("task.deleted", occurrence_id),
        *[("task.deleted", task_id) for task_id in cleared["ids"]],  # clear completed
    ]
    assert sorted(cleared["ids"]) == sorted([first["id"], daily["id"], spare["id"]])
    tasks = [change["task"] for change in log["changes"]]
    # Each change carries the task exactly as the write's response showed it.
    assert tasks[0] == first
    assert tasks[1:4] == [put.json(), patch.json(), toggled.json()]
    assert tasks[6] == completed
    assert all(task is None for task in tasks[9:])
    assert log["more"] is False and log["next"] == log["changes"][-1]["id"]
    assert len({change["id"] for change in log["changes"]}) == len(log["changes"])
    assert cursor(client, alice) == log["next"]


def test_a_refused_write_logs_nothing(client, alice, create_task, make_settings) -> None:
    task = create_task()
    before = changes_since(client, alice)["next"]
    stale = {"If-Match": '"999-0"'}
    for response in (
        client.put(f"/api/alice/tasks/{task['id']}", json={"title": "x"}, headers=alice | stale),
        client.patch(f"/api/alice/tasks/{task['id']}/complete", headers=alice | stale),
        client.delete(f"/api/alice/tasks/{task['id']}", headers=alice | stale),
        client.patch(f"/api/alice/tasks/{task['id']}", json={"title": ""}, headers=alice),
        client.delete("/api/alice/tasks/999", headers=alice),
    ):
        assert response.status_code in (404, 412, 422), response.text
    assert changes_since(client, alice, before) == {"changes": [], "next": before, "more": False}
    assert cursor(client, alice) == before


@pytest.mark.own_database  # it adds a trigger
def test_a_write_whose_change_cannot_be_stored_is_rolled_back(client, alice, create_task) -> None:
    """The log entry and the write are one transaction: failing the first undoes the second."""
    create_task("kept")
    if TEST_DATABASE_URL:
        query(
            client,
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
        )
        query(
            client,
            'CREATE TRIGGER refuse BEFORE INSERT ON "change" FOR EACH ROW '
            "EXECUTE FUNCTION refuse()",
        )
    else:
        query(
            client,
            'CREATE TRIGGER refuse BEFORE INSERT ON "change" BEGIN SELECT RAISE(ABORT, '
            "'refused'); END",
        )
    task_id = query(client, "SELECT id FROM task")[0]["id"]
    writes = (
        lambda: client.post("/api/alice/tasks", json={"title": "lost"}, headers=alice),
        lambda: client.put(f"/api/alice/tasks/{task_id}", json={"title": "lost"}, headers=alice),
        lambda: client.delete(f"/api/alice/tasks/{task_id}", headers=alice),
    )
    for write in writes:
        assert write().status_code == 500
    assert [row["title"] for row in query(client, "SELECT title FROM task")] == ["kept"]
    assert len(changes_since(client, alice)["changes"]) == 1


def test_pages_follow_next_until_more_is_false(client, alice, create_task) -> None:
    start = cursor(client, alice)
    created = [create_task(f"Task {n}")["id"] for n in range(7)]
    seen, since = [], start
    while True:
        page = changes_since(client, alice, since, limit=3)
        seen += [change["task_id"] for change in page["changes"]]
        since = page["next"]
        if not page["more"]:
            break
    assert seen == created
    assert changes_since(client, alice, since) == {"changes": [], "next": since, "more": False}


def test_without_since_the_log_is_read_from_its_oldest_change(client, alice, create_task) -> None:
    assert changes_since(client, alice)["changes"] == []
    ids = [create_task(f"Task {n}")["id"] for n in range(3)]
    assert [change["task_id"] for change in changes_since(client, alice)["changes"]] == ids


def test_a_cursor_from_before_the_first_write_sees_it(client, alice, create_task) -> None:
    start = cursor(client, alice)  # alice has no log yet
    task = create_task()
    assert [change["task_id"] for change in changes_since(client, alice, start)["changes"]] == [
        task["id"]
    ]


def test_malformed_cursors_and_limits_are_422(client, alice) -> None:
    for params in (
        {"since": "nope"},
        {"since": "A" * 15 + "="},
        {"since": "x" * 65},
        {"since": "!!!!!!!!!!!!!!!!"},
        {"limit": 0},
        {"limit": 1001},
        {"limit": "many"},
    ):
        response = client.get("/api/alice/changes", params=params, headers=alice)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"][0]["loc"][0] == "query"


def test_a_cursor_of_the_right_shape_that_was_never_issued_is_gone(client, alice) -> None:
    issued = ChangeCursor.decode(changes_since(client, alice)["next"])
    for since in (
        "A" * 15 + "B",  # epoch 0: never issued
        ChangeCursor(issued.epoch ^ 1, issued.position).encode(),  # another database's
        "_" * 16,  # a position past what a cursor can hold
    ):
        response = client.get("/api/alice/changes", params={"since": since}, headers=alice)
        assert response.status_code == 410, (since, response.text)
        assert "list the tasks again" in response.json()["detail"]


def test_purged_changes_make_an_old_cursor_gone(client, alice, create_task) -> None:
    start = cursor(client, alice)
    create_task("old")
    middle = cursor(client, alice)
    create_task("also old")
    recent = create_task("recent")
    # The first two are past retention; the purge keeps the third.
    old = utcnow() - timedelta(days=31)
    oldest = 'SELECT id FROM "change" ORDER BY id LIMIT 2'
    query(client, f'UPDATE "change" SET at = :at WHERE id IN ({oldest})', at=old)
    purged = client.portal.call(purge, part(client, Store).db, timedelta(days=30))
    assert purged == 2
    for since in (start, middle):
        response = client.get("/api/alice/changes", params={"since": since}, headers=alice)
        assert response.status_code == 410
        assert "list the tasks again" in response.json()["detail"]
    # Listing again gives a cursor that works; reading from the oldest kept change too.
    assert changes_since(client, alice, cursor(client, alice))["changes"] == []
    assert [c["task_id"] for c in changes_since(client, alice)["changes"]] == [recent["id"]]


def test_a_cursor_from_a_log_that_started_over_is_gone(client, alice, create_task) -> None:
    create_task()
    old = changes_since(client, alice)["next"]
    query(client, 'DELETE FROM "user" WHERE id = :id', id="alice")  # as Better Auth would
    part(client, KnownUsers).forget("alice")
    for _ in range(3):
        create_task()
    response = client.get("/api/alice/changes", params={"since": old}, headers=alice)
    assert response.status_code == 410
    assert len(changes_since(client, alice)["changes"]) == 3


def test_a_cursor_past_the_head_is_gone(client, alice, create_task) -> None:
    for _ in range(3):
        create_task()
    head = ChangeCursor.decode(changes_since(client, alice)["next"])
    ahead = ChangeCursor(head.epoch, head.position + 5).encode()
    response = client.get("/api/alice/changes", params={"since": ahead}, headers=alice)
    assert response.status_code == 410


def test_another_users_cursor_gives_nothing_of_theirs(client, alice, bob, create_task) -> None:
    for n in range(3):
        create_task(f"bob's {n}", headers=bob, user="bob")
    response = client.get("/api/bob/tasks", headers=bob)
    bobs_start = client.get("/api/bob/changes", headers=bob).json()["changes"][0]["id"]
    create_task("alice's")
    for since in (bobs_start, response.headers["X-Changes-Cursor"]):
        answer = client.get("/api/alice/changes", params={"since": since}, headers=alice)
        assert answer.status_code in (200, 410)
        if answer.status_code == 200:
            assert all(c["task"]["user_id"] == "alice" for c in answer.json()["changes"])
    assert client.get("/api/bob/changes", headers=alice).status_code == 403
    assert client.get("/api/alice/changes").status_code == 401


def test_listings_carry_the_cursor_and_expose_it_to_browsers(client, alice, create_task) -> None:
    create_task()
    response = client.get(
        "/api/alice/tasks?status=pending&limit=1",
        headers=alice | {"Origin": "http://localhost:3000"},
    )
    assert response.headers["X-Changes-Cursor"]
    assert "X-Changes-Cursor" in response.headers["Access-Control-Expose-Headers"]


def test_every_listing_s_cursor_is_of_the_readers_log_with_rows_or_without(
    client, alice, bob, create_task
) -> None:
    # The epoch comes with the rows where there are some, and is read on its own where there
    # are none: both must name the same log, for every shape of listing.
    def epoch(path: str, headers=alice, user="alice") -> int:
        response = client.get(f"/api/{user}/tasks{path}", headers=headers)
        return ChangeCursor.decode(response.headers["X-Changes-Cursor"]).epoch

    empty = epoch("")
    create_task("alice's")
    paths = ("", "?sort=title", "?list_id=inbox&sort=position", "?status=completed")
    assert {path: epoch(path) for path in paths} == dict.fromkeys(paths, empty)
    create_task("bob's", headers=bob, user="bob")
    assert epoch("", bob, "bob") != empty


def test_the_cursor_codec_round_trips_and_refuses_others() -> None:
    position = ChangeCursor(123456, 2**40)
    assert ChangeCursor.decode(position.encode()) == position
    for token in ("", "=" * 16, position.encode()[:-1], "////////////////"):
        try:
            ChangeCursor.decode(token)
        except InvalidCursor:
            continue
        raise AssertionError(token)


def test_purge_removes_only_expired_changes(client, alice, create_task) -> None:
    for _ in range(3):
        create_task()
    purged = client.portal.call(purge, part(client, Store).db, timedelta(days=30))
    assert purged == 0
    assert len(changes_since(client, alice)["changes"]) == 3


def test_with_the_log_off_writes_log_nothing_and_sync_is_not_served(make_settings, alice) -> None:
    from todo_api.main import create_app

    with TestClient(create_app(make_settings(changes_enabled=False))) as client:
        created = client.post("/api/alice/tasks", json={"title": "x"}, headers=alice)
        assert created.status_code == 201
        listing = client.get("/api/alice/tasks", headers=alice)
        assert "X-Changes-Cursor" not in listing.headers
        assert client.get("/api/alice/changes", headers=alice).status_code == 404
        assert client.get("/api/alice/events", headers=alice).status_code == 404
        assert query(client, 'SELECT id FROM "change"') == []
