"""The cap on how many tasks one user may hold."""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app


@pytest.fixture
def capped(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(max_tasks_per_user=3))) as client:
        yield client


def _create(client: TestClient, headers: Headers, user: str, title: str):
    return client.post(f"/api/{user}/tasks", json={"title": title}, headers=headers)


def test_creating_past_the_cap_is_409_and_stores_nothing(
    capped: TestClient, alice: Headers
) -> None:
    for n in range(3):
        assert _create(capped, alice, "alice", f"task {n}").status_code == 201
    response = _create(capped, alice, "alice", "one too many")
    assert response.status_code == 409
    assert response.json() == {"detail": "Task limit reached: one user may hold at most 3 tasks"}
    stored = query(capped, "SELECT title FROM task WHERE user_id = 'alice' ORDER BY id")
    assert [row["title"] for row in stored] == ["task 0", "task 1", "task 2"]


def test_the_cap_is_per_user(capped: TestClient, alice: Headers, bob: Headers) -> None:
    for n in range(3):
        _create(capped, alice, "alice", f"task {n}")
    assert _create(capped, bob, "bob", "bob's first").status_code == 201


def test_deleting_a_task_makes_room_again(capped: TestClient, alice: Headers) -> None:
    ids = [_create(capped, alice, "alice", f"task {n}").json()["id"] for n in range(3)]
    assert capped.delete(f"/api/alice/tasks/{ids[0]}", headers=alice).status_code == 204
    assert _create(capped, alice, "alice", "fits again").status_code == 201
    assert _create(capped, alice, "alice", "no longer").status_code == 409


def test_other_changes_still_work_at_the_cap(capped: TestClient, alice: Headers) -> None:
    ids = [_create(capped, alice, "alice", f"task {n}").json()["id"] for n in range(3)]
    assert capped.patch(f"/api/alice/tasks/{ids[0]}/complete", headers=alice).status_code == 200
    assert capped.get("/api/alice/tasks", headers=alice).status_code == 200


def test_the_default_cap_is_ten_thousand(settings: Settings) -> None:
    assert Settings(_env_file=None).max_tasks_per_user == 10_000
