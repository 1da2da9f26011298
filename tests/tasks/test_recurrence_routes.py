"""Recurring tasks through the API, and bulk completion and deletion."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, part, query
from todo_api.core.database import Store
from todo_api.tasks import bulk, occurrences
from todo_api.tasks.recurrence import next_due
from todo_api.tasks.schemas import BulkComplete

TASKS = "/api/alice/tasks"


def all_tasks(client: TestClient, headers: Headers) -> list[dict]:
    return client.get(TASKS, params={"limit": 1000}, headers=headers).json()


# --- recurrence -------------------------------------------------------------------------------


def test_completing_a_recurring_task_creates_the_next_occurrence(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(
        title="Pay rent",
        description="flat",
        priority="high",
        tags=["home"],
        due_date="2026-01-31",
        recurrence="monthly",
    )
    done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
    assert done["completed"] is True
    assert done["completed_at"] is not None
    tasks = all_tasks(client, alice)
    assert len(tasks) == 2
    nxt = tasks[1]
    assert done["next_occurrence_id"] == nxt["id"]
    assert {k: nxt[k] for k in ("title", "description", "priority", "tags", "recurrence")} == {
        "title": "Pay rent",
        "description": "flat",
        "priority": "high",
        "tags": ["home"],
        "recurrence": "monthly",
    }
    assert (nxt["due_date"], nxt["completed"], nxt["completed_at"]) == ("2026-02-28", False, None)


def test_a_monthly_series_from_january_31_returns_to_the_31st(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="2028-01-31", recurrence="monthly")
    dues = [task["due_date"]]
    for _ in range(3):
        done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
        task = client.get(f"{TASKS}/{done['next_occurrence_id']}", headers=alice).json()
        dues.append(task["due_date"])
    assert dues == ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"]


def test_interval_and_due_time_carry_over(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task(due_at="2026-12-25T18:30:00Z", recurrence="weekly", recurrence_interval=2)
    response = client.put(f"{TASKS}/{task['id']}", json={"completed": True}, headers=alice)
    nxt = client.get(f"{TASKS}/{response.json()['next_occurrence_id']}", headers=alice).json()
    assert (nxt["due_date"], nxt["due_at"], nxt["recurrence_interval"]) == (
        "2027-01-08",
        "2027-01-08T18:30:00Z",
        2,
    )


def test_undoing_the_completion_leaves_no_duplicate(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="2026-03-01", recurrence="daily")
    url = f"{TASKS}/{task['id']}/complete"
    client.patch(url, headers=alice)
    undone = client.patch(url, headers=alice).json()
    assert (undone["completed"], undone["completed_at"], undone["next_occurrence_id"]) == (
        False,
        None,
        None,
    )
    assert [t["id"] for t in all_tasks(client, alice)] == [task["id"]]
    client.patch(url, headers=alice)
    tasks = all_tasks(client, alice)
    assert len(tasks) == 2
    assert tasks[1]["due_date"] == "2026-03-02"


def test_undoing_by_patch_leaves_no_duplicate(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="2026-03-01", recurrence="daily")
    url = f"{TASKS}/{task['id']}"
    client.patch(url, json={"completed": True}, headers=alice)
    client.patch(url, json={"completed": False}, headers=alice)
    assert len(all_tasks(client, alice)) == 1


def test_undo_keeps_a_next_occurrence_that_was_already_completed(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="2026-03-01", recurrence="daily")
    done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
    client.patch(f"{TASKS}/{done['next_occurrence_id']}/complete", headers=alice)
    client.patch(f"{TASKS}/{task['id']}/complete", headers=alice)
    assert len(all_tasks(client, alice)) == 3


def test_completing_twice_by_put_creates_one_occurrence(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="2026-03-01", recurrence="daily")
    for _ in range(2):
        client.put(f"{TASKS}/{task['id']}", json={"completed": True}, headers=alice)
    assert len(all_tasks(client, alice)) == 2


def test_a_recurring_task_without_due_date_recurs_from_today(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(recurrence="daily")
    done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
    nxt = client.get(f"{TASKS}/{done['next_occurrence_id']}", headers=alice).json()
    today = datetime.now(UTC).date()
    assert nxt["due_date"] > today.isoformat() or nxt["due_date"] == today.isoformat()


def test_a_series_at_the_end_of_the_calendar_just_completes(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="9999-12-31", recurrence="daily")
    response = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice)
    assert response.status_code == 200
    assert response.json()["next_occurrence_id"] is None
    assert len(all_tasks(client, alice)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"recurrence": "hourly"},
        {"recurrence": "daily", "recurrence_interval": 0},
        {"recurrence": "daily", "recurrence_interval": 1001},
    ],
)
def test_invalid_recurrence_is_422(client: TestClient, alice: Headers, body) -> None:
    assert client.post(TASKS, json={"title": "t"} | body, headers=alice).status_code == 422


def test_deleting_the_next_occurrence_unlinks_it(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_date="2026-03-01", recurrence="daily")
    done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
    client.delete(f"{TASKS}/{done['next_occurrence_id']}", headers=alice)
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json()["next_occurrence_id"] is None


# --- bulk -------------------------------------------------------------------------------------


def test_bulk_complete_by_ids_completes_only_the_callers_pending_tasks(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    a, b, c = (create_task(title=t) for t in "abc")
    done = create_task(title="done", completed=True)
    bobs = create_task(headers=bob, user="bob")
    body = {"ids": [a["id"], c["id"], done["id"], bobs["id"], 2**31 - 1]}
    response = client.post(f"{TASKS}/bulk/complete", json=body, headers=alice)
    assert response.status_code == 200
    assert response.json() == {"count": 2, "ids": [a["id"], c["id"]]}
    rows = query(client, "SELECT id, completed, completed_at, version FROM task ORDER BY id")
    by_id = {row["id"]: row for row in rows}
    assert [by_id[t["id"]]["completed"] for t in (a, b, c, bobs)] == [True, False, True, False]
    assert by_id[a["id"]]["completed_at"] is not None
    assert by_id[a["id"]]["version"] == 2
    assert by_id[done["id"]]["version"] == 1


def test_bulk_complete_all_pending_spawns_next_occurrences(
    client: TestClient, alice: Headers, create_task
) -> None:
    for i in range(5):
        create_task(title=f"t{i}")
    create_task(title="weekly", due_date="2026-01-01", recurrence="weekly")
    response = client.post(f"{TASKS}/bulk/complete", json={"all_pending": True}, headers=alice)
    assert response.json()["count"] == 6
    pending = client.get(TASKS, params={"status": "pending"}, headers=alice).json()
    assert [(t["title"], t["due_date"]) for t in pending] == [("weekly", "2026-01-08")]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": []},
        {"ids": [1], "all_pending": True},
        {"ids": [0]},
        {"ids": [2**31]},
        {"ids": [True]},
        {"ids": ["1"]},
        {"all_pending": 1},
        {"all_pending": False},
    ],
)
def test_bulk_complete_needs_one_valid_selection(
    client: TestClient, alice: Headers, create_task, body
) -> None:
    task = create_task(title="stays pending")
    response = client.post(f"{TASKS}/bulk/complete", json=body, headers=alice)
    assert response.status_code == 422
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json()["completed"] is False


@pytest.mark.parametrize("interval", [True, "2", 0, 1001])
def test_recurrence_interval_must_be_a_json_integer_in_range(
    client: TestClient, alice: Headers, create_task, interval: object
) -> None:
    body = {"title": "t", "due_date": "2026-01-01", "recurrence": "daily"}
    response = client.post(TASKS, json=body | {"recurrence_interval": interval}, headers=alice)
    assert response.status_code == 422
    task = create_task(**body)
    for method in ("PUT", "PATCH"):
        changed = client.request(
            method, f"{TASKS}/{task['id']}", json={"recurrence_interval": interval}, headers=alice
        )
        assert changed.status_code == 422
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json()["recurrence_interval"] == 1


def test_an_integer_may_be_written_with_a_zero_fraction(
    client: TestClient, alice: Headers, create_task
) -> None:
    body = {"title": "t", "due_date": "2026-01-01", "recurrence": "daily"}
    assert create_task(**body, recurrence_interval=3.0)["recurrence_interval"] == 3
    task = create_task(title="done by a float id")
    response = client.post(
        f"{TASKS}/bulk/complete", json={"ids": [float(task["id"])]}, headers=alice
    )
    assert response.json()["ids"] == [task["id"]]


def test_bulk_complete_is_one_transaction(
    client: TestClient, alice: Headers, create_task, monkeypatch
) -> None:
    # A failure midway (the second next occurrence) leaves every task as it was.
    plain = create_task(title="plain")
    for i in range(2):
        create_task(title=f"r{i}", due_date="2026-01-01", recurrence="daily")
    calls = []

    def failing_next_due(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("midway")
        return next_due(*args)

    monkeypatch.setattr(occurrences, "next_due", failing_next_due)
    before = query(client, "SELECT * FROM task ORDER BY id")
    with pytest.raises(RuntimeError, match="midway"):
        client.portal.call(
            bulk.complete_tasks,
            part(client, Store),
            "alice",
            BulkComplete(all_pending=True),
        )
    assert query(client, "SELECT * FROM task ORDER BY id") == before
    assert before[0]["id"] == plain["id"]


def test_delete_completed_removes_only_the_callers_completed_tasks(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    keep = create_task(title="keep")
    gone = [create_task(title=f"done{i}", completed=True) for i in range(3)]
    create_task(headers=bob, user="bob", completed=True)
    response = client.delete(f"{TASKS}/completed", headers=alice)
    assert response.status_code == 200
    assert response.json() == {"count": 3, "ids": [t["id"] for t in gone]}
    assert [t["id"] for t in all_tasks(client, alice)] == [keep["id"]]
    assert len(query(client, "SELECT id FROM task WHERE user_id = 'bob'")) == 1


def test_bulk_routes_are_not_taken_for_task_ids(client: TestClient, alice: Headers) -> None:
    assert client.delete(f"{TASKS}/completed", headers=alice).json() == {"count": 0, "ids": []}
    assert client.get(f"{TASKS}/completed", headers=alice).status_code in (404, 405, 422)


def test_bulk_on_another_users_path_is_403(client: TestClient, alice: Headers) -> None:
    assert client.delete("/api/bob/tasks/completed", headers=alice).status_code == 403
    response = client.post(
        "/api/bob/tasks/bulk/complete", json={"all_pending": True}, headers=alice
    )
    assert response.status_code == 403
