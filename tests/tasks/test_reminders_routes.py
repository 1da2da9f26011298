"""Reminders on tasks: set, shown resolved, replaced, moved, cancelled, carried over."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query

TASKS = "/api/alice/tasks"
DUE = datetime(2030, 3, 10, 15, 0, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def create(client: TestClient, headers: Headers, **fields) -> dict:
    response = client.post(TASKS, json={"title": "Dentist", **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_reminders_are_shown_with_their_fire_time(client: TestClient, alice: Headers) -> None:
    task = create(
        client,
        alice,
        due_at=iso(DUE),
        reminders=[{"before_minutes": 30}, {"at": "2030-03-09T20:00:00+02:00"}],
    )
    assert task["reminders"] == [
        {
            "at": None,
            "before_minutes": 30,
            "fire_at": "2030-03-10T14:30:00Z",
            "fired_at": None,
            "late": False,
        },
        {
            "at": "2030-03-09T18:00:00Z",
            "before_minutes": None,
            "fire_at": "2030-03-09T18:00:00Z",
            "fired_at": None,
            "late": False,
        },
    ]
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json() == task
    assert client.get(TASKS, headers=alice).json() == [task]


@pytest.mark.parametrize(
    "reminders",
    [
        [{"before_minutes": 10}],  # no due_at
        [{}],
        [{"at": iso(DUE), "before_minutes": 5}],
        [{"before_minutes": -1}],
        [{"before_minutes": 525_601}],
        [{"before_minutes": 1.5}],
        [{"before_minutes": True}],
        [{"before_minutes": "5"}],
        [{"at": "2030-03-10T15:00:00"}],  # no offset
        [{"at": 1893456000}],
        [{"at": iso(DUE), "note": "x"}],
        [{"at": iso(DUE)}] * 6,
        {"at": iso(DUE)},
    ],
)
def test_invalid_reminders_are_422(client: TestClient, alice: Headers, reminders) -> None:
    response = client.post(TASKS, json={"title": "x", "reminders": reminders}, headers=alice)
    assert response.status_code == 422, response.text
    assert client.get(TASKS, headers=alice).json() == []


def test_put_and_patch_replace_the_list(client: TestClient, alice: Headers) -> None:
    task = create(client, alice, due_at=iso(DUE), reminders=[{"before_minutes": 30}])
    put = client.put(
        f"{TASKS}/{task['id']}", json={"reminders": [{"before_minutes": 5}]}, headers=alice
    ).json()
    assert [r["before_minutes"] for r in put["reminders"]] == [5]
    untouched = client.patch(f"{TASKS}/{task['id']}", json={"title": "x"}, headers=alice).json()
    assert untouched["reminders"] == put["reminders"]
    patched = client.patch(
        f"{TASKS}/{task['id']}", json={"reminders": [{"at": iso(DUE)}]}, headers=alice
    ).json()
    assert [r["at"] for r in patched["reminders"]] == [iso(DUE)]
    cleared = client.patch(f"{TASKS}/{task['id']}", json={"reminders": None}, headers=alice)
    assert cleared.json()["reminders"] == []
    assert query(client, "SELECT next_reminder_at FROM task")[0]["next_reminder_at"] is None


def test_changing_due_at_moves_relative_reminders(client: TestClient, alice: Headers) -> None:
    task = create(
        client, alice, due_at=iso(DUE), reminders=[{"before_minutes": 60}, {"at": iso(DUE)}]
    )
    later = DUE + timedelta(days=1)
    moved = client.patch(f"{TASKS}/{task['id']}", json={"due_at": iso(later)}, headers=alice)
    assert [r["fire_at"] for r in moved.json()["reminders"]] == [
        iso(later - timedelta(hours=1)),
        iso(DUE),
    ]


def test_relative_reminders_cannot_lose_their_due_time(client: TestClient, alice: Headers) -> None:
    task = create(client, alice, due_at=iso(DUE), reminders=[{"before_minutes": 60}])
    response = client.patch(f"{TASKS}/{task['id']}", json={"due_at": None}, headers=alice)
    assert response.status_code == 422
    assert "due_at" in response.json()["detail"][0]["msg"]
    plain = create(client, alice)
    response = client.put(
        f"{TASKS}/{plain['id']}", json={"reminders": [{"before_minutes": 1}]}, headers=alice
    )
    assert response.status_code == 422
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json() == task


def test_completing_cancels_what_has_not_fired(client: TestClient, alice: Headers) -> None:
    task = create(client, alice, due_at=iso(DUE), reminders=[{"before_minutes": 60}])
    done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
    assert done["completed"] and done["reminders"] == []
    assert query(client, "SELECT next_reminder_at FROM task")[0]["next_reminder_at"] is None
    other = create(client, alice, due_at=iso(DUE), reminders=[{"at": iso(DUE)}])
    bulk = client.post(f"{TASKS}/bulk/complete", json={"ids": [other["id"]]}, headers=alice)
    assert bulk.json()["ids"] == [other["id"]]
    assert client.get(f"{TASKS}/{other['id']}", headers=alice).json()["reminders"] == []


def test_a_recurring_tasks_next_occurrence_gets_the_reminders_moved(
    client: TestClient, alice: Headers
) -> None:
    task = create(
        client,
        alice,
        due_at=iso(DUE),
        recurrence="weekly",
        reminders=[{"before_minutes": 15}, {"at": iso(DUE - timedelta(days=1))}],
    )
    done = client.patch(f"{TASKS}/{task['id']}/complete", headers=alice).json()
    following = client.get(f"{TASKS}/{done['next_occurrence_id']}", headers=alice).json()
    week = timedelta(weeks=1)
    assert following["due_at"] == iso(DUE + week)
    assert following["reminders"] == [
        {
            "at": None,
            "before_minutes": 15,
            "fire_at": iso(DUE + week - timedelta(minutes=15)),
            "fired_at": None,
            "late": False,
        },
        {
            "at": iso(DUE + week - timedelta(days=1)),
            "before_minutes": None,
            "fire_at": iso(DUE + week - timedelta(days=1)),
            "fired_at": None,
            "late": False,
        },
    ]


def test_reminders_are_in_the_change_log(client: TestClient, alice: Headers) -> None:
    task = create(client, alice, due_at=iso(DUE), reminders=[{"before_minutes": 1}])
    (change,) = client.get("/api/alice/changes", headers=alice).json()["changes"]
    assert change["task"] == task


def test_idempotent_create_replays_the_reminders(client: TestClient, alice: Headers) -> None:
    body = {"title": "x", "due_at": iso(DUE), "reminders": [{"before_minutes": 1}]}
    headers = alice | {"Idempotency-Key": "k1"}
    first = client.post(TASKS, json=body, headers=headers)
    again = client.post(TASKS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert first.json()["reminders"][0]["fire_at"] == iso(DUE - timedelta(minutes=1))


def test_a_reminder_that_would_go_off_before_the_year_1_is_422(
    client: TestClient, alice: Headers
) -> None:
    early = {"due_at": "0001-01-01T00:00:00Z", "reminders": [{"before_minutes": 525_600}]}
    created = client.post("/api/alice/tasks", json={"title": "t", **early}, headers=alice)
    assert created.status_code == 422
    assert created.json()["detail"][0]["loc"] == ["body", "reminders"]
    task = client.post("/api/alice/tasks", json={"title": "t"}, headers=alice).json()
    for method in ("put", "patch"):
        response = client.request(
            method, f"/api/alice/tasks/{task['id']}", json=early, headers=alice
        )
        assert response.status_code == 422, response.text
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=alice).json() == task


def test_completing_a_series_at_the_calendars_end_ends_it(
    client: TestClient, alice: Headers
) -> None:
    body = {
        "title": "Last day",
        "due_at": "9999-12-31T22:00:00Z",
        "recurrence": "daily",
        "reminders": [{"at": "9999-12-31T21:00:00Z"}, {"before_minutes": 30}],
    }
    task = client.post("/api/alice/tasks", json=body, headers=alice).json()
    done = client.patch(f"/api/alice/tasks/{task['id']}/complete", headers=alice)
    assert done.status_code == 200, done.text
    assert done.json()["completed"] is True and done.json()["next_occurrence_id"] is None
    assert len(client.get("/api/alice/tasks", headers=alice).json()) == 1
