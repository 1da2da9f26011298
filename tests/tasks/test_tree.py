"""Subtasks: a task's `parent_id`, four levels at most, and what completing, deleting and
repeating a task does to the tasks under it."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers

TASKS = "/api/alice/tasks"


def get(client: TestClient, headers: Headers, task_id: int) -> dict:
    response = client.get(f"{TASKS}/{task_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def chain(create_task, depth: int, **fields) -> list[dict]:
    """Tasks each under the one before: the first at the top, the last at `depth`."""
    tasks = [create_task("Level 1", **fields)]
    for level in range(2, depth + 1):
        tasks.append(create_task(f"Level {level}", parent_id=tasks[-1]["id"]))
    return tasks


def changes_since(client: TestClient, headers: Headers, cursor: str) -> list[dict]:
    page = client.get("/api/alice/changes", params={"since": cursor}, headers=headers).json()
    return page["changes"]


def cursor_now(client: TestClient, headers: Headers) -> str:
    """Where the log ends now: changes after it are those of what comes next."""
    page = client.get("/api/alice/changes", params={"limit": 1000}, headers=headers).json()
    assert page["more"] is False
    return page["next"]


def test_a_subtask_is_in_its_parents_list_and_counted(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    parent = create_task("Plan", list_id=work["id"])
    child = create_task("Step", parent_id=parent["id"])
    assert (child["list_id"], child["parent_id"]) == (work["id"], parent["id"])
    counted = get(client, alice, parent["id"])
    assert (counted["subtask_count"], counted["completed_subtask_count"]) == (1, 0)
    assert counted["version"] == parent["version"] + 1


def test_subtasks_go_four_levels_deep_and_no_further(
    client: TestClient, alice: Headers, create_task
) -> None:
    deepest = chain(create_task, 4)[-1]
    response = client.post(
        TASKS, json={"title": "Level 5", "parent_id": deepest["id"]}, headers=alice
    )
    assert response.status_code == 422
    assert "4 levels" in response.json()["detail"][0]["msg"]


def test_a_subtask_in_another_list_than_its_parent_is_422(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    parent = create_task("Plan")  # in the Inbox
    body = {"title": "Step", "parent_id": parent["id"], "list_id": work["id"]}
    response = client.post(TASKS, json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "list_id"]


def test_another_users_task_as_parent_is_404(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    alices = create_task("Alice's")
    response = client.post(
        "/api/bob/tasks", json={"title": "x", "parent_id": alices["id"]}, headers=bob
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "Parent task not found"
    assert get(client, alice, alices["id"])["subtask_count"] == 0


@pytest.mark.parametrize("write", ["patch", "move"])
def test_a_task_cannot_go_under_itself_or_its_subtasks(
    client: TestClient, alice: Headers, create_task, write
) -> None:
    top, middle, bottom = chain(create_task, 3)
    for parent in (top, bottom):
        if write == "patch":
            url, body = f"{TASKS}/{top['id']}", {"parent_id": parent["id"]}
            response = client.patch(url, json=body, headers=alice)
        else:
            url, body = f"{TASKS}/{top['id']}/move", {"parent_id": parent["id"]}
            response = client.post(url, json=body, headers=alice)
        assert response.status_code == 422, response.text
        assert "under itself" in response.json()["detail"][0]["msg"]
    assert get(client, alice, top["id"])["parent_id"] is None
    assert get(client, alice, middle["id"])["parent_id"] == top["id"]


def test_moving_a_subtree_under_a_deep_task_past_four_levels_is_422(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, _ = chain(create_task, 2)
    deep = chain(create_task, 3)[-1]  # at depth 3: top (2 levels) would reach 5
    url = f"{TASKS}/{top['id']}/move"
    response = client.post(url, json={"parent_id": deep["id"]}, headers=alice)
    assert response.status_code == 422
    assert get(client, alice, top["id"])["parent_id"] is None


def test_listing_filters_by_parent_and_top_level(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, child = chain(create_task, 2)
    other = create_task("Other")
    under = client.get(TASKS, params={"parent_id": top["id"]}, headers=alice).json()
    assert [t["id"] for t in under] == [child["id"]]
    tops = client.get(TASKS, params={"parent_id": "none"}, headers=alice).json()
    assert [t["id"] for t in tops] == [top["id"], other["id"]]
    assert client.get(TASKS, params={"parent_id": 999999}, headers=alice).status_code == 404


def test_completing_a_task_completes_its_open_subtasks_each_logged(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, middle, bottom = chain(create_task, 3)
    done_already = create_task("Done", parent_id=top["id"], completed=True)
    cursor = cursor_now(client, alice)
    response = client.patch(f"{TASKS}/{top['id']}", json={"completed": True}, headers=alice)
    assert response.status_code == 200
    assert (response.json()["subtask_count"], response.json()["completed_subtask_count"]) == (2, 2)
    for task in (middle, bottom):
        assert get(client, alice, task["id"])["completed"] is True
    logged = {c["task_id"] for c in changes_since(client, alice, cursor)}
    assert logged == {top["id"], middle["id"], bottom["id"]}  # not the one done before
    assert get(client, alice, done_already["id"])["version"] == done_already["version"]


def test_the_toggle_completes_subtasks_too_and_reopening_reopens_nothing_else(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, child = chain(create_task, 2)
    client.patch(f"{TASKS}/{top['id']}/complete", headers=alice)
    assert get(client, alice, child["id"])["completed"] is True
    reopened = client.patch(f"{TASKS}/{top['id']}/complete", headers=alice).json()
    assert reopened["completed"] is False
    assert get(client, alice, child["id"])["completed"] is True
    assert reopened["completed_subtask_count"] == 1


def test_completing_and_reopening_a_subtask_counts_on_its_parent(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, child = chain(create_task, 2)
    client.patch(f"{TASKS}/{child['id']}/complete", headers=alice)
    assert get(client, alice, top["id"])["completed_subtask_count"] == 1
    client.put(f"{TASKS}/{child['id']}", json={"completed": False}, headers=alice)
    assert get(client, alice, top["id"])["completed_subtask_count"] == 0


def test_deleting_a_task_deletes_its_subtasks_each_logged(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, middle, bottom = chain(create_task, 3)
    cursor = cursor_now(client, alice)
    assert client.delete(f"{TASKS}/{middle['id']}", headers=alice).status_code == 204
    assert client.get(f"{TASKS}/{bottom['id']}", headers=alice).status_code == 404
    log = changes_since(client, alice, cursor)
    assert {(c["type"], c["task_id"]) for c in log} == {
        ("task.deleted", middle["id"]),
        ("task.deleted", bottom["id"]),
        ("task.updated", top["id"]),  # its count
    }
    assert get(client, alice, top["id"])["subtask_count"] == 0


def test_deleting_completed_tasks_deletes_what_is_under_them(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, child = chain(create_task, 2)
    client.patch(f"{TASKS}/{top['id']}", json={"completed": True}, headers=alice)
    client.patch(f"{TASKS}/{child['id']}", json={"completed": False}, headers=alice)
    keep = create_task("Keep")
    result = client.delete(f"{TASKS}/completed", headers=alice).json()
    assert sorted(result["ids"]) == sorted([top["id"], child["id"]])
    assert [t["id"] for t in client.get(TASKS, headers=alice).json()] == [keep["id"]]


def test_deleting_a_completed_subtask_recounts_its_pending_parent(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, child = chain(create_task, 2)
    client.patch(f"{TASKS}/{child['id']}/complete", headers=alice)
    client.delete(f"{TASKS}/completed", headers=alice)
    counted = get(client, alice, top["id"])
    assert (counted["subtask_count"], counted["completed_subtask_count"]) == (0, 0)


def test_bulk_complete_completes_subtasks_too(
    client: TestClient, alice: Headers, create_task
) -> None:
    top, middle, bottom = chain(create_task, 3)
    response = client.post(
        f"{TASKS}/bulk/complete", json={"ids": [top["id"], middle["id"]]}, headers=alice
    )
    assert response.status_code == 200
    assert get(client, alice, bottom["id"])["completed"] is True
    assert get(client, alice, top["id"])["completed_subtask_count"] == 1


def test_a_recurring_tasks_next_occurrence_carries_its_subtasks_reopened(
    client: TestClient, alice: Headers, create_task
) -> None:
    top = create_task("Weekly review", due_date="2030-01-07", recurrence="weekly")
    step = create_task("Inbox zero", parent_id=top["id"], due_date="2030-01-06")
    create_task("Plan", parent_id=step["id"])
    completed = client.patch(f"{TASKS}/{top['id']}/complete", headers=alice).json()
    assert get(client, alice, step["id"])["completed"] is True
    occurrence = get(client, alice, completed["next_occurrence_id"])
    assert (occurrence["due_date"], occurrence["subtask_count"]) == ("2030-01-14", 1)
    (copy,) = client.get(TASKS, params={"parent_id": occurrence["id"]}, headers=alice).json()
    assert (copy["title"], copy["completed"], copy["due_date"]) == (
        "Inbox zero",
        False,
        "2030-01-13",
    )
    (grandchild,) = client.get(TASKS, params={"parent_id": copy["id"]}, headers=alice).json()
    assert (grandchild["title"], grandchild["completed"]) == ("Plan", False)
    # Undoing the completion takes the occurrence back, with its subtasks.
    client.patch(f"{TASKS}/{top['id']}/complete", headers=alice)
    for gone in (occurrence, copy, grandchild):
        assert client.get(f"{TASKS}/{gone['id']}", headers=alice).status_code == 404
