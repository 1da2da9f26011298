"""`/api/{user_id}/lists`: a user's lists, their order, and what deleting one does."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.main import create_app

LISTS = "/api/alice/lists"
TASKS = "/api/alice/tasks"


@pytest.fixture
def create_list(client: TestClient, alice: Headers):
    def create(name: str = "Groceries", **fields) -> dict:
        response = client.post(LISTS, json={"name": name, **fields}, headers=alice)
        assert response.status_code == 201, response.text
        return response.json()

    return create


def changes(client: TestClient, headers: Headers) -> list[dict]:
    response = client.get("/api/alice/changes", params={"limit": 1000}, headers=headers)
    assert response.status_code == 200
    return response.json()["changes"]


def test_a_new_list_has_every_field_and_no_tasks(client: TestClient, alice: Headers) -> None:
    response = client.post(LISTS, json={"name": "  Groceries ", "color": "blue"}, headers=alice)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {
        "id", "name", "color", "position", "task_count", "created_at", "updated_at", "version",
        "role", "owner_id",
    }  # fmt: skip
    assert (created["role"], created["owner_id"]) == ("owner", "alice")
    assert (created["name"], created["color"], created["task_count"]) == ("Groceries", "blue", 0)
    assert created["version"] == 1
    assert response.headers["ETag"]


def test_lists_come_in_the_order_they_were_made(
    client: TestClient, alice: Headers, create_list
) -> None:
    made = [create_list(name)["id"] for name in ("Work", "Home", "Errands")]
    assert [row["id"] for row in client.get(LISTS, headers=alice).json()] == made


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "two\nlines"},
        {"name": "Work", "color": "mauve"},
        {"name": "Work", "color": "#12345"},
        {"name": "Work", "color": 3},
        {},
    ],
)
def test_a_bad_list_is_refused_with_a_detail(client: TestClient, alice: Headers, body) -> None:
    response = client.post(LISTS, json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_colors_are_the_palette_or_hex_written_lower_case(
    client: TestClient, alice: Headers
) -> None:
    made = client.post(LISTS, json={"name": "A", "color": "#33AAFF"}, headers=alice).json()
    assert made["color"] == "#33aaff"


def test_a_user_has_at_most_max_lists(make_settings, alice: Headers) -> None:
    with TestClient(create_app(make_settings(max_lists_per_user=2))) as client:
        for name in ("One", "Two"):
            assert client.post(LISTS, json={"name": name}, headers=alice).status_code == 201
        refused = client.post(LISTS, json={"name": "Three"}, headers=alice)
    assert refused.status_code == 409
    assert "at most 2 lists" in refused.json()["detail"]


def test_patch_renames_and_clears_the_color(
    client: TestClient, alice: Headers, create_list
) -> None:
    made = create_list("Work", color="red")
    response = client.patch(
        f"{LISTS}/{made['id']}", json={"name": "Job", "color": None}, headers=alice
    )
    assert response.status_code == 200
    changed = response.json()
    assert (changed["name"], changed["color"], changed["version"]) == ("Job", None, 2)
    untouched = client.patch(f"{LISTS}/{made['id']}", json={}, headers=alice).json()
    assert untouched["name"] == "Job"


def test_a_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, alice: Headers, create_list
) -> None:
    made = create_list("Work")
    url = f"{LISTS}/{made['id']}"
    tag = client.get(url, headers=alice).headers["ETag"]
    assert (
        client.patch(url, json={"name": "Job"}, headers=alice | {"If-Match": tag}).status_code
        == 200
    )
    stale = client.patch(url, json={"name": "Again"}, headers=alice | {"If-Match": tag})
    assert stale.status_code == 412
    assert client.delete(url, headers=alice | {"If-Match": tag}).status_code == 412
    assert client.get(url, headers=alice).json()["name"] == "Job"


def test_another_users_list_is_404_on_every_path(
    client: TestClient, alice: Headers, bob: Headers, create_list
) -> None:
    mine = create_list("Private")
    url = f"/api/bob/lists/{mine['id']}"
    assert client.get(url, headers=bob).status_code == 404
    assert client.patch(url, json={"name": "Mine now"}, headers=bob).status_code == 404
    assert client.post(f"{url}/move", json={}, headers=bob).status_code == 404
    assert client.delete(url, headers=bob).status_code == 404
    for attempt in (
        client.post("/api/bob/tasks", json={"title": "x", "list_id": mine["id"]}, headers=bob),
        client.get("/api/bob/tasks", params={"list_id": mine["id"]}, headers=bob),
        client.get(
            "/api/bob/tasks", params={"list_id": mine["id"], "sort": "position"}, headers=bob
        ),
    ):
        assert attempt.status_code == 404
        assert attempt.json()["detail"] == "List not found"
    # Alice's side of it is untouched.
    assert client.get(f"{LISTS}/{mine['id']}", headers=alice).json()["name"] == "Private"
    assert client.get(f"{LISTS}/{mine['id']}", headers=bob).status_code == 403


def test_an_empty_list_in_its_order_is_an_empty_page(
    client: TestClient, alice: Headers, create_list
) -> None:
    empty = create_list("Empty")
    response = client.get(
        "/api/alice/tasks", params={"list_id": empty["id"], "sort": "position"}, headers=alice
    )
    assert response.status_code == 200 and response.json() == []
    assert response.headers["X-Total-Count"] == "0"


def test_task_count_counts_the_lists_tasks(
    client: TestClient, alice: Headers, create_list, create_task
) -> None:
    work = create_list("Work")
    parent = create_task("Plan", list_id=work["id"])
    create_task("Step", parent_id=parent["id"])
    create_task("Done", list_id=work["id"], completed=True)
    create_task("Inbox")
    assert client.get(f"{LISTS}/{work['id']}", headers=alice).json()["task_count"] == 3
    assert [row["task_count"] for row in client.get(LISTS, headers=alice).json()] == [3]


def test_deleting_a_list_deletes_its_tasks_each_a_logged_deletion(
    client: TestClient, alice: Headers, create_list, create_task
) -> None:
    work = create_list("Work")
    parent = create_task("Plan", list_id=work["id"])
    child = create_task("Step", parent_id=parent["id"])
    kept = create_task("Inbox task")
    assert client.delete(f"{LISTS}/{work['id']}", headers=alice).status_code == 204
    assert client.get(f"{LISTS}/{work['id']}", headers=alice).status_code == 404
    assert [t["id"] for t in client.get(TASKS, headers=alice).json()] == [kept["id"]]
    log = changes(client, alice)
    deleted = {
        (c["type"], c.get("task_id", c.get("list_id")))
        for c in log
        if c["type"].endswith(".deleted")
    }
    assert deleted == {
        ("task.deleted", parent["id"]),
        ("task.deleted", child["id"]),
        ("list.deleted", work["id"]),
    }
    assert log[-1] == log[-1] | {"type": "list.deleted", "list_id": work["id"], "list": None}


def test_list_writes_are_in_the_change_log_as_get_shows_them(
    client: TestClient, alice: Headers, create_list
) -> None:
    made = create_list("Work")
    renamed = client.patch(f"{LISTS}/{made['id']}", json={"name": "Job"}, headers=alice).json()
    log = [c for c in changes(client, alice) if c["type"].startswith("list.")]
    assert [(c["type"], c["list_id"]) for c in log] == [
        ("list.created", made["id"]),
        ("list.updated", made["id"]),
    ]
    # The reader's role is left out: the list's members each have their own.
    assert log[0]["list"] == {name: v for name, v in made.items() if name != "role"}
    assert log[1]["list"] == {name: v for name, v in renamed.items() if name != "role"}


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        ({}, ["C", "A", "B"]),
        ({"after_id": "A"}, ["A", "C", "B"]),
        ({"before_id": "B"}, ["A", "C", "B"]),
        ({"before_id": "A"}, ["C", "A", "B"]),
    ],
)
def test_a_move_puts_a_list_where_it_is_asked(
    client: TestClient, alice: Headers, create_list, move, expected
) -> None:
    ids = {name: create_list(name)["id"] for name in ("A", "B", "C")}
    body = {field: ids[name] for field, name in move.items()}
    moved = client.post(f"{LISTS}/{ids['C']}/move", json=body, headers=alice)
    assert moved.status_code == 200, moved.text
    names = [row["name"] for row in client.get(LISTS, headers=alice).json()]
    assert names == expected
    assert moved.json()["version"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"after_id": 1, "before_id": 2},
        {"after_id": None, "before_id": None},
        {"after": 1},
        {"after_id": "1"},
    ],
)
def test_a_bad_move_of_a_list_is_422(client: TestClient, alice: Headers, create_list, body) -> None:
    made = create_list("A")
    response = client.post(f"{LISTS}/{made['id']}/move", json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize("field", ["after_id", "before_id"])
def test_moving_a_list_next_to_itself_leaves_it_where_it_is(
    client: TestClient, alice: Headers, create_list, field
) -> None:
    ids = [create_list(name)["id"] for name in ("A", "B")]
    moved = client.post(f"{LISTS}/{ids[1]}/move", json={field: ids[1]}, headers=alice)
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 1
    assert [row["id"] for row in client.get(LISTS, headers=alice).json()] == ids


def test_moving_next_to_another_users_list_is_404(
    client: TestClient, alice: Headers, bob: Headers, create_list
) -> None:
    mine = create_list("Mine")
    bobs = client.post("/api/bob/lists", json={"name": "Bob's"}, headers=bob).json()
    response = client.post(
        f"{LISTS}/{mine['id']}/move", json={"after_id": bobs["id"]}, headers=alice
    )
    assert response.status_code == 404


def test_list_positions_are_stored_for_bytewise_order(client: TestClient, create_list) -> None:
    made = create_list("A")
    rows = query(client, "SELECT position FROM task_list WHERE id = :id", id=made["id"])
    assert rows == [{"position": made["position"]}]
