"""Issue 4's task fields: priority, due dates, tags, completion time, overdue; PUT and PATCH."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query

TASKS = "/api/alice/tasks"


def stored(client: TestClient, task_id: int) -> dict:
    """The task's row as stored (JSON decoded, dates as ISO text on both databases)."""
    rows = query(client, "SELECT * FROM task WHERE id = :id", id=task_id)
    assert len(rows) == 1
    row = rows[0]
    if isinstance(row["tags"], str):  # SQLite: JSON text
        row["tags"] = json.loads(row["tags"])
    for name in ("due_date", "recurrence_anchor"):
        row[name] = None if row[name] is None else str(row[name])
    return row


# --- defaults and old clients -----------------------------------------------------------------


def test_a_guidelines_task_gets_the_defaults(client: TestClient, alice: Headers) -> None:
    task = client.post(TASKS, json={"title": "Old client"}, headers=alice).json()
    assert task | {"created_at": None, "updated_at": None} == {
        "id": task["id"],
        "user_id": "alice",
        "title": "Old client",
        "description": None,
        "completed": False,
        "created_at": None,
        "updated_at": None,
        "completed_at": None,
        "priority": "none",
        "due_date": None,
        "due_at": None,
        "overdue": False,
        "tags": [],
        "recurrence": None,
        "recurrence_interval": 1,
        "next_occurrence_id": None,
        "version": 1,
        "reminders": [],
        "list_id": None,
        "parent_id": None,
        "position": task["position"],
        "subtask_count": 0,
        "completed_subtask_count": 0,
        "created_by": "alice",
        "completed_by": None,
    }


def test_put_with_only_old_fields_leaves_new_fields_alone(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(priority="high", tags=["a"], due_date="2030-05-01")
    response = client.put(f"{TASKS}/{task['id']}", json={"title": "Renamed"}, headers=alice)
    assert response.status_code == 200
    changed = response.json()
    assert (changed["title"], changed["priority"], changed["tags"], changed["due_date"]) == (
        "Renamed",
        "high",
        ["a"],
        "2030-05-01",
    )


def test_put_with_nulls_for_fields_that_are_never_null_keeps_them(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(priority="low", tags=["a"], recurrence="weekly", recurrence_interval=2)
    body = {"priority": None, "tags": None, "recurrence_interval": None}
    changed = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert (changed["priority"], changed["tags"], changed["recurrence_interval"]) == (
        "low",
        ["a"],
        2,
    )


def test_put_with_nulls_clears_the_nullable_fields(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(
        description="d", due_at="2030-05-01T09:00:00Z", recurrence="weekly", priority="low"
    )
    body = {"due_at": None}
    changed = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert (changed["due_date"], changed["due_at"]) == ("2030-05-01", None)  # the day stays
    body = {"description": None, "due_date": None, "recurrence": None}
    changed = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert (changed["description"], changed["due_date"], changed["due_at"]) == (None, None, None)
    assert changed["recurrence"] is None and changed["priority"] == "low"


# --- priority ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "rank"), [("none", 0), ("low", 1), ("medium", 2), ("high", 3)]
)
def test_priority_is_stored_as_its_rank(
    client: TestClient, create_task, priority: str, rank: int
) -> None:
    task = create_task(priority=priority)
    assert task["priority"] == priority
    assert stored(client, task["id"])["priority"] == rank


def test_unknown_priority_is_422(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"title": "t", "priority": "urgent"}, headers=alice)
    assert response.status_code == 422
    assert query(client, "SELECT id FROM task") == []


# --- due dates --------------------------------------------------------------------------------


def test_due_date_alone_is_a_whole_day(create_task) -> None:
    task = create_task(due_date="2030-02-28")
    assert (task["due_date"], task["due_at"]) == ("2030-02-28", None)


def test_due_at_sets_due_date_to_its_utc_day(client: TestClient, create_task) -> None:
    task = create_task(due_at="2030-03-01T01:30:00+02:00")
    assert task["due_at"] == "2030-02-28T23:30:00Z"
    assert task["due_date"] == "2030-02-28"
    row = stored(client, task["id"])
    assert row["due_date"] == "2030-02-28"


def test_due_date_contradicting_due_at_is_422(client: TestClient, alice: Headers) -> None:
    body = {"title": "t", "due_at": "2030-03-01T10:00:00Z", "due_date": "2030-03-02"}
    assert client.post(TASKS, json=body, headers=alice).status_code == 422


def test_naive_due_at_is_422(client: TestClient, alice: Headers) -> None:
    body = {"title": "t", "due_at": "2030-03-01T10:00:00"}
    assert client.post(TASKS, json=body, headers=alice).status_code == 422


@pytest.mark.parametrize(
    "field", [{"due_date": 0.0}, {"due_date": 1893456000}, {"due_at": 1893456000}, {"due_at": 0.5}]
)
def test_a_due_date_sent_as_a_number_is_422_not_a_unix_time(
    client: TestClient, alice: Headers, create_task, field
) -> None:
    # The schema says ISO text; pydantic alone would read a number as seconds since 1970.
    assert client.post(TASKS, json={"title": "t", **field}, headers=alice).status_code == 422
    task = create_task()
    response = client.patch(f"{TASKS}/{task['id']}", json=field, headers=alice)
    assert response.status_code == 422
    assert stored(client, task["id"])["due_date"] is None


@pytest.mark.parametrize("due_at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_due_at_beyond_the_calendar_is_422(client: TestClient, alice: Headers, due_at) -> None:
    response = client.post(TASKS, json={"title": "t", "due_at": due_at}, headers=alice)
    assert response.status_code == 422


def test_overdue_is_derived_from_due_date_and_completion(
    client: TestClient, alice: Headers, create_task
) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    today = datetime.now(UTC).date().isoformat()
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert create_task(due_date=yesterday)["overdue"] is True
    assert create_task(due_date=today)["overdue"] is False
    assert create_task(due_at=an_hour_ago)["overdue"] is True
    assert create_task(due_at=in_an_hour)["overdue"] is False
    done = create_task(due_date=yesterday, completed=True)
    assert done["overdue"] is False
    assert "overdue" not in stored(client, done["id"])


# --- tags -------------------------------------------------------------------------------------


def test_tags_are_trimmed_and_unique_ignoring_case(client: TestClient, create_task) -> None:
    task = create_task(tags=[" Work ", "work", "WORK", "home"])
    assert task["tags"] == ["Work", "home"]
    assert stored(client, task["id"])["tags"] == ["Work", "home"]


def test_twenty_tags_are_accepted(create_task) -> None:
    tags = [f"t{i}" for i in range(20)]
    assert create_task(tags=tags)["tags"] == tags


@pytest.mark.parametrize(
    "tags",
    [[f"t{i}" for i in range(21)], ["x" * 51], [""], ["   "], ["a\x00b"], "work", [1]],
    ids=["21 tags", "51 chars", "empty", "blank", "NUL", "not a list", "not strings"],
)
def test_invalid_tags_are_422(client: TestClient, alice: Headers, tags) -> None:
    response = client.post(TASKS, json={"title": "t", "tags": tags}, headers=alice)
    assert response.status_code == 422
    assert query(client, "SELECT id FROM task") == []


def test_tag_of_50_characters_is_accepted(create_task) -> None:
    assert create_task(tags=["x" * 50])["tags"] == ["x" * 50]


def test_tags_endpoint_counts_tasks_per_tag_ignoring_case(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    create_task(tags=["Work", "urgent"])
    create_task(tags=["work"])
    create_task(tags=["home"])
    create_task(tags=[])
    create_task(tags=["work", "secret"], headers=bob, user="bob")
    response = client.get("/api/alice/tags", headers=alice)
    assert response.status_code == 200
    assert response.json() == [
        {"tag": "Work", "count": 2},
        {"tag": "home", "count": 1},
        {"tag": "urgent", "count": 1},
    ]


def test_tags_of_another_user_are_403(client: TestClient, alice: Headers) -> None:
    assert client.get("/api/bob/tags", headers=alice).status_code == 403


# --- completion time --------------------------------------------------------------------------


def test_completed_at_is_set_and_cleared_with_completed(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task()
    url = f"{TASKS}/{task['id']}"
    done = client.patch(f"{url}/complete", headers=alice).json()
    assert done["completed_at"] is not None
    assert done["completed_at"] == done["updated_at"]
    assert (
        client.put(url, json={"completed": True}, headers=alice).json()["completed_at"]
        == (done["completed_at"])
    )
    reopened = client.patch(url, json={"completed": False}, headers=alice).json()
    assert reopened["completed_at"] is None
    assert stored(client, task["id"])["completed_at"] is None
    assert client.put(url, json={"completed": True}, headers=alice).json()["completed_at"]


def test_created_completed_has_completed_at(create_task) -> None:
    task = create_task(completed=True)
    assert task["completed_at"] == task["created_at"]


# --- PATCH: JSON merge semantics --------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(description="d", priority="high", tags=["a"], due_date="2030-01-01")
    changed = client.patch(f"{TASKS}/{task['id']}", json={"priority": "low"}, headers=alice)
    assert changed.status_code == 200
    expected = task | {"priority": "low", "version": 2}
    assert changed.json() | {"updated_at": None} == expected | {"updated_at": None}


def test_patch_null_clears_clearable_fields(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(
        description="d",
        priority="high",
        tags=["a"],
        due_at="2030-01-01T09:00:00Z",
        recurrence="weekly",
        recurrence_interval=2,
    )
    body = {
        "description": None,
        "priority": None,
        "tags": None,
        "due_date": None,
        "recurrence": None,
        "recurrence_interval": None,
    }
    changed = client.patch(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert {k: changed[k] for k in body} | {"due_at": changed["due_at"]} == {
        "description": None,
        "priority": "none",
        "tags": [],
        "due_date": None,
        "recurrence": None,
        "recurrence_interval": 1,
        "due_at": None,
    }
    row = stored(client, task["id"])
    assert (row["description"], row["priority"], row["tags"], row["due_date"]) == (
        None,
        0,
        [],
        None,
    )
    assert row["recurrence_anchor"] is None


def test_patch_null_due_at_keeps_the_day(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task(due_at="2030-01-01T09:00:00Z")
    changed = client.patch(f"{TASKS}/{task['id']}", json={"due_at": None}, headers=alice).json()
    assert (changed["due_date"], changed["due_at"]) == ("2030-01-01", None)


def test_patch_due_date_alone_drops_the_time(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task(due_at="2030-01-01T09:00:00Z")
    body = {"due_date": "2030-02-01"}
    changed = client.patch(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert (changed["due_date"], changed["due_at"]) == ("2030-02-01", None)


@pytest.mark.parametrize("body", [{"title": None}, {"completed": None}, {"title": " "}])
def test_patch_cannot_clear_required_fields(
    client: TestClient, alice: Headers, create_task, body
) -> None:
    task = create_task()
    response = client.patch(f"{TASKS}/{task['id']}", json=body, headers=alice)
    assert response.status_code == 422
    assert stored(client, task["id"])["title"] == "Buy milk"


def test_patch_of_another_users_task_is_404(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    task = create_task(headers=bob, user="bob")
    response = client.patch(f"{TASKS}/{task['id']}", json={"title": "mine"}, headers=alice)
    assert response.status_code == 404
    assert stored(client, task["id"])["title"] == "Buy milk"


@pytest.mark.parametrize("task_id", ["0", "-1", "2147483648", "99999999999999999999"])
def test_patch_of_ids_that_cannot_exist_is_404(
    client: TestClient, alice: Headers, task_id: str
) -> None:
    response = client.patch(f"{TASKS}/{task_id}", json={"title": "x"}, headers=alice)
    assert response.status_code == 404


def test_every_write_bumps_the_version(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task()
    url = f"{TASKS}/{task['id']}"
    assert client.put(url, json={"title": "a"}, headers=alice).json()["version"] == 2
    assert client.patch(url, json={"title": "b"}, headers=alice).json()["version"] == 3
    assert client.patch(f"{url}/complete", headers=alice).json()["version"] == 4
    assert stored(client, task["id"])["version"] == 4


@pytest.mark.parametrize(
    "title", ["Hi\r\nBcc: all@example.com", "two\nlines", "bell\x07", "esc\x1b[2J", "nel\x85"]
)
def test_titles_refuse_line_breaks_and_other_control_characters(
    client: TestClient, alice: Headers, title: str
) -> None:
    # A title ends up in a reminder's mail subject and in logs: one line it stays.
    response = client.post("/api/alice/tasks", json={"title": title}, headers=alice)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "title"]


def test_a_title_may_hold_a_tab(client: TestClient, alice: Headers) -> None:
    response = client.post("/api/alice/tasks", json={"title": "a\tb"}, headers=alice)
    assert response.status_code == 201
    assert response.json()["title"] == "a\tb"
