"""The per-user task cap holds on every path that creates a task, and bulk calls are bounded."""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app

CAP = 3
LIMIT_DETAIL = {"detail": f"Task limit reached: one user may hold at most {CAP} tasks"}


@pytest.fixture
def capped(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(max_tasks_per_user=CAP))) as client:
        yield client


def _fill(client: TestClient, headers: Headers, *, recurring: int) -> list[int]:
    """Fill alice's tasks up to the cap, the first `recurring` of them daily."""
    ids = []
    for n in range(CAP):
        body = {"title": f"task {n}"} | ({"recurrence": "daily"} if n < recurring else {})
        response = client.post("/api/alice/tasks", json=body, headers=headers)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    return ids


def _count(client: TestClient) -> int:
    return len(query(client, "SELECT id FROM task WHERE user_id = 'alice'"))


@pytest.mark.parametrize("how", ["toggle", "put", "patch"])
def test_completing_a_recurring_task_at_the_cap_is_409_and_changes_nothing(
    capped: TestClient, alice: Headers, how: str
) -> None:
    task_id = _fill(capped, alice, recurring=1)[0]
    path = f"/api/alice/tasks/{task_id}"
    if how == "toggle":
        response = capped.patch(f"{path}/complete", headers=alice)
    else:
        response = capped.request(how.upper(), path, json={"completed": True}, headers=alice)
    assert response.status_code == 409
    assert response.json() == LIMIT_DETAIL
    assert _count(capped) == CAP
    assert capped.get(path, headers=alice).json()["completed"] is False


def test_completing_a_recurring_task_below_the_cap_still_spawns_its_occurrence(
    capped: TestClient, alice: Headers
) -> None:
    first = capped.post(
        "/api/alice/tasks", json={"title": "daily", "recurrence": "daily"}, headers=alice
    ).json()
    toggled = capped.patch(f"/api/alice/tasks/{first['id']}/complete", headers=alice)
    assert toggled.status_code == 200 and toggled.json()["next_occurrence_id"] is not None
    assert _count(capped) == 2


def test_bulk_completion_of_recurring_tasks_past_the_cap_is_409_and_changes_nothing(
    capped: TestClient, alice: Headers
) -> None:
    ids = _fill(capped, alice, recurring=2)
    for body in ({"all_pending": True}, {"ids": ids}):
        response = capped.post("/api/alice/tasks/bulk/complete", json=body, headers=alice)
        assert response.status_code == 409
        assert response.json() == LIMIT_DETAIL
        assert _count(capped) == CAP
        pending = query(capped, "SELECT id FROM task WHERE user_id = 'alice' AND NOT completed")
        assert len(pending) == CAP


def test_one_by_one_completions_cannot_creep_past_the_cap(
    capped: TestClient, alice: Headers
) -> None:
    # Two recurring tasks below the cap: the first completion fills it, the second is refused.
    for title in ("a", "b"):
        body = {"title": title, "recurrence": "daily"}
        assert capped.post("/api/alice/tasks", json=body, headers=alice).status_code == 201
    ids = [row["id"] for row in query(capped, "SELECT id FROM task ORDER BY id")]
    assert capped.patch(f"/api/alice/tasks/{ids[0]}/complete", headers=alice).status_code == 200
    assert capped.patch(f"/api/alice/tasks/{ids[1]}/complete", headers=alice).status_code == 409
    assert _count(capped) == CAP
    # Reopening removes the occurrence: there is room again.
    assert capped.patch(f"/api/alice/tasks/{ids[0]}/complete", headers=alice).status_code == 200
    assert capped.patch(f"/api/alice/tasks/{ids[1]}/complete", headers=alice).status_code == 200


def test_a_bulk_call_completes_at_most_a_bounded_number_of_tasks(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    from todo_api.tasks.schemas import MAX_BULK_TASKS as BULK_LIMIT

    settings = make_settings(max_tasks_per_user=0)
    with TestClient(create_app(settings)) as client:
        rows = ", ".join(
            f"('alice', 't{n}', false, '2026-01-01', '2026-01-01', 0, '[]', 1, 1, 'a0V')"
            for n in range(BULK_LIMIT + 5)
        )
        client.get("/api/alice/tasks", headers=alice)  # creates alice's user row
        query(
            client,
            "INSERT INTO task (user_id, title, completed, created_at, updated_at, priority, "
            f"tags, recurrence_interval, version, position) VALUES {rows}",
        )
        first = client.post(
            "/api/alice/tasks/bulk/complete", json={"all_pending": True}, headers=alice
        )
        assert first.status_code == 200
        assert first.json()["count"] == BULK_LIMIT
        assert first.json()["ids"] == sorted(first.json()["ids"])
        rest = client.post(
            "/api/alice/tasks/bulk/complete", json={"all_pending": True}, headers=alice
        )
        assert rest.json()["count"] == 5
        ids = client.post(
            "/api/alice/tasks/bulk/complete",
            json={"ids": list(range(1, BULK_LIMIT + 2))},
            headers=alice,
        )
        assert ids.status_code == 422
