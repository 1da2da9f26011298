"""Who may do what with a shared list and its tasks, tried as an attacker would: with a
stranger's token, a viewer's for an editor's action, an editor's for the owner's, and a removed
member's. Strangers get 404 (as if nothing were there), members short of the role 403."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers
from tests.tasks.sharing.conftest import headers_of

EDITS = [
    ("PATCH", "/tasks/{task}", {"title": "Hijacked"}),
    ("PUT", "/tasks/{task}", {"title": "Hijacked"}),
    ("PATCH", "/tasks/{task}/complete", None),
    ("POST", "/tasks/{task}/move", {}),
    ("DELETE", "/tasks/{task}", None),
    ("POST", "/tasks", {"title": "Planted", "list_id": "{list}"}),
    ("POST", "/tasks", {"title": "Planted", "parent_id": "{task}"}),
]
READS = [
    ("GET", "/tasks/{task}", None),
    ("GET", "/lists/{list}", None),
    ("GET", "/lists/{list}/members", None),
    ("GET", "/tasks?list_id={list}", None),
    ("GET", "/tasks?list_id={list}&sort=position", None),
    ("GET", "/tasks?parent_id={task}", None),
]
OWNERS = [
    ("PATCH", "/lists/{list}", {"name": "Mine now"}),
    ("POST", "/lists/{list}/move", {}),
    ("DELETE", "/lists/{list}", None),
    ("POST", "/lists/{list}/invitations", {"role": "editor"}),
    ("GET", "/lists/{list}/invitations", None),
    ("PATCH", "/lists/{list}/members/carol", {"role": "editor"}),
    ("DELETE", "/lists/{list}/members/carol", None),
]


def call(client: TestClient, user: str, home: dict, method: str, path: str, body):
    ids = {"list": home["list"]["id"], "task": home["task"]["id"]}
    url = f"/api/{user}" + path.format(**ids)
    if isinstance(body, dict):
        body = {
            k: (int(v.format(**ids)) if isinstance(v, str) and "{" in v else v)
            for k, v in body.items()
        }
    return client.request(method, url, json=body, headers=headers_of(user))


def unchanged(client: TestClient, alice: Headers, home: dict) -> None:
    task = client.get(f"/api/alice/tasks/{home['task']['id']}", headers=alice).json()
    assert (task["title"], task["completed"], task["version"]) == ("Fix the sink", False, 1)
    listed = client.get("/api/alice/lists", headers=alice).json()
    assert (listed[0]["name"], listed[0]["task_count"]) == ("Home", 1)


@pytest.mark.parametrize(("method", "path", "body"), EDITS + READS + OWNERS)
def test_a_stranger_gets_404_everywhere_and_changes_nothing(
    client: TestClient, alice: Headers, home, method, path, body
) -> None:
    response = call(client, "dave", home, method, path, body)
    assert response.status_code == 404, response.text
    unchanged(client, alice, home)


@pytest.mark.parametrize(("method", "path", "body"), EDITS)
def test_a_viewer_cannot_write_the_lists_tasks(
    client: TestClient, alice: Headers, home, method, path, body
) -> None:
    response = call(client, "carol", home, method, path, body)
    assert response.status_code == 403, response.text
    assert response.json()["detail"]
    unchanged(client, alice, home)


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_a_viewer_reads_the_list_and_its_tasks(client: TestClient, home, method, path, body):
    assert call(client, "carol", home, method, path, body).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), OWNERS)
def test_only_the_owner_manages_the_list(
    client: TestClient, alice: Headers, home, method, path, body
) -> None:
    response = call(client, "bob", home, method, path, body)
    assert response.status_code == 403, response.text
    unchanged(client, alice, home)
    members = client.get(f"/api/alice/lists/{home['list']['id']}/members", headers=alice)
    assert [(m["user_id"], m["role"]) for m in members.json()] == [
        ("alice", "owner"),
        ("bob", "editor"),
        ("carol", "viewer"),
    ]


def test_an_editor_writes_the_lists_tasks_under_their_own_id(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    task_id, list_id = home["task"]["id"], home["list"]["id"]
    patched = client.patch(f"/api/bob/tasks/{task_id}", json={"title": "Sink"}, headers=bob)
    assert patched.status_code == 200, patched.text
    done = client.patch(f"/api/bob/tasks/{task_id}/complete", headers=bob).json()
    assert (done["completed"], done["completed_by"], done["user_id"]) == (True, "bob", "alice")
    added = client.post("/api/bob/tasks", json={"title": "Towels", "list_id": list_id}, headers=bob)
    assert added.status_code == 201, added.text
    assert (added.json()["created_by"], added.json()["user_id"]) == ("bob", "alice")
    sub = client.post("/api/bob/tasks", json={"title": "Washer", "parent_id": task_id}, headers=bob)
    assert (sub.status_code, sub.json()["list_id"]) == (201, list_id)
    titles = [t["title"] for t in client.get("/api/alice/tasks", headers=alice).json()]
    assert titles == ["Sink", "Towels", "Washer"]
    reopened = client.patch(f"/api/bob/tasks/{task_id}/complete", headers=bob).json()
    assert (reopened["completed"], reopened["completed_by"]) == (False, None)
    assert client.delete(f"/api/bob/tasks/{added.json()['id']}", headers=bob).status_code == 204


def test_a_member_lists_shared_tasks_with_their_own_and_never_the_owners_private_ones(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    client.post("/api/alice/tasks", json={"title": "Alice's secret"}, headers=alice)
    private = client.post("/api/alice/lists", json={"name": "Private"}, headers=alice).json()
    client.post(
        "/api/alice/tasks", json={"title": "Hidden", "list_id": private["id"]}, headers=alice
    )
    client.post("/api/bob/tasks", json={"title": "Bob's own"}, headers=bob)
    seen = client.get("/api/bob/tasks", headers=bob)
    assert [t["title"] for t in seen.json()] == ["Fix the sink", "Bob's own"]
    assert seen.headers["X-Total-Count"] == "2"
    by_title = client.get("/api/bob/tasks", params={"sort": "title", "count": "true"}, headers=bob)
    assert [t["title"] for t in by_title.json()] == ["Bob's own", "Fix the sink"]
    assert by_title.headers["X-Total-Count"] == "2"
    one = client.get("/api/bob/tasks", params={"limit": 1}, headers=bob)
    following = client.get(one.links["next"]["url"], headers=bob).json()
    assert [t["title"] for t in one.json() + following] == ["Fix the sink", "Bob's own"]
    lists = client.get("/api/bob/lists", headers=bob).json()
    assert [(row["name"], row["role"], row["owner_id"]) for row in lists] == [
        ("Home", "editor", "alice")
    ]
    assert client.get(f"/api/bob/lists/{private['id']}", headers=bob).status_code == 404
    for params in ({"list_id": private["id"]}, {"list_id": private["id"], "sort": "position"}):
        assert client.get("/api/bob/tasks", params=params, headers=bob).status_code == 404


def test_a_member_lists_the_shared_list_in_its_order_as_the_owner_does(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    for title in ("Buy paint", "Paint the hall"):
        client.post(
            "/api/alice/tasks", json={"title": title, "list_id": home["list"]["id"]}, headers=alice
        )
    client.post("/api/bob/tasks", json={"title": "Bob's own"}, headers=bob)
    params = {"list_id": home["list"]["id"], "sort": "position", "limit": 2}
    seen = {}
    for user, headers in (("alice", alice), ("bob", bob)):
        first = client.get(f"/api/{user}/tasks", params=params, headers=headers)
        rest = client.get(first.links["next"]["url"], headers=headers).json()
        seen[user] = [t["title"] for t in first.json() + rest]
    assert seen["bob"] == seen["alice"] == ["Fix the sink", "Buy paint", "Paint the hall"]


def test_a_member_never_sees_another_members_private_tasks(
    client: TestClient, bob: Headers, carol: Headers, home
) -> None:
    client.post("/api/bob/tasks", json={"title": "Bob's own"}, headers=bob)
    bobs_list = client.post("/api/bob/lists", json={"name": "Bob's"}, headers=bob).json()
    seen = [t["title"] for t in client.get("/api/carol/tasks", headers=carol).json()]
    assert seen == ["Fix the sink"]
    assert client.get(f"/api/carol/lists/{bobs_list['id']}", headers=carol).status_code == 404


def test_an_editor_cannot_take_a_task_out_of_the_list(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    private = client.post("/api/alice/lists", json={"name": "Private"}, headers=alice).json()
    bobs = client.post("/api/bob/lists", json={"name": "Bob's"}, headers=bob).json()
    url = f"/api/bob/tasks/{home['task']['id']}"
    for target in (None, private["id"], bobs["id"]):
        moved = client.post(f"{url}/move", json={"list_id": target}, headers=bob)
        patched = client.patch(url, json={"list_id": target}, headers=bob)
        assert {moved.status_code, patched.status_code} <= {403, 404}, (moved.text, patched.text)
    unchanged(client, alice, home)


def test_a_removed_member_loses_the_list_at_once(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    list_id, task_id = home["list"]["id"], home["task"]["id"]
    removed = client.delete(f"/api/alice/lists/{list_id}/members/bob", headers=alice)
    assert removed.status_code == 204
    assert client.get(f"/api/bob/tasks/{task_id}", headers=bob).status_code == 404
    assert client.patch(f"/api/bob/tasks/{task_id}/complete", headers=bob).status_code == 404
    assert client.get("/api/bob/tasks", headers=bob).json() == []
    assert client.get("/api/bob/lists", headers=bob).json() == []
    assert client.delete(f"/api/bob/lists/{list_id}/members/bob", headers=bob).status_code == 404


def test_a_member_leaves_and_the_owner_cannot(
    client: TestClient, alice: Headers, carol: Headers, home
) -> None:
    list_id = home["list"]["id"]
    assert (
        client.delete(f"/api/carol/lists/{list_id}/members/carol", headers=carol).status_code == 204
    )
    assert client.get(f"/api/carol/lists/{list_id}", headers=carol).status_code == 404
    owner_leaves = client.delete(f"/api/alice/lists/{list_id}/members/alice", headers=alice)
    assert owner_leaves.status_code == 409


def test_the_owner_changes_a_role_and_it_takes_effect(
    client: TestClient, alice: Headers, carol: Headers, home
) -> None:
    list_id, task_id = home["list"]["id"], home["task"]["id"]
    changed = client.patch(
        f"/api/alice/lists/{list_id}/members/carol", json={"role": "editor"}, headers=alice
    )
    assert changed.json() == {"user_id": "carol", "name": "carol", "role": "editor"}
    done = client.patch(f"/api/carol/tasks/{task_id}/complete", headers=carol)
    assert (done.status_code, done.json()["completed_by"]) == (200, "carol")
    nobody = client.patch(
        f"/api/alice/lists/{list_id}/members/dave", json={"role": "viewer"}, headers=alice
    )
    assert nobody.status_code == 404


def test_deleting_the_list_removes_everyone(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    assert client.delete(f"/api/alice/lists/{home['list']['id']}", headers=alice).status_code == 204
    assert client.get("/api/bob/lists", headers=bob).json() == []
    assert client.get("/api/bob/tasks", headers=bob).json() == []


def test_a_members_move_tells_nothing_of_the_owners_other_tasks_and_lists(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    private_task = client.post("/api/alice/tasks", json={"title": "Diary"}, headers=alice).json()
    private_list = client.post("/api/alice/lists", json={"name": "Mine"}, headers=alice).json()
    url = f"/api/bob/tasks/{home['task']['id']}/move"
    answers = {
        field: [
            client.post(url, json={field: value}, headers=bob).status_code
            for value in (real, 2**31 - 1)
        ]
        for field, real in (
            ("parent_id", private_task["id"]),
            ("after_id", private_task["id"]),
            ("before_id", private_task["id"]),
            ("list_id", private_list["id"]),
        )
    }
    # The same answer whether or not the id is the owner's: nothing to learn from it.
    assert answers == {
        "parent_id": [404, 404],
        "after_id": [404, 404],
        "before_id": [404, 404],
        "list_id": [403, 403],
    }
    unchanged(client, alice, home)


def test_a_members_bulk_calls_touch_only_their_own_tasks(
    client: TestClient, alice: Headers, bob: Headers, home
) -> None:
    task_id = home["task"]["id"]
    done = client.post("/api/bob/tasks/bulk/complete", json={"ids": [task_id]}, headers=bob)
    assert done.json() == {"count": 0, "ids": []}
    everything = client.post(
        "/api/bob/tasks/bulk/complete", json={"all_pending": True}, headers=bob
    )
    assert everything.json()["count"] == 0
    client.patch(f"/api/alice/tasks/{task_id}/complete", headers=alice)
    cleared = client.delete("/api/bob/tasks/completed", headers=bob)
    assert cleared.json() == {"count": 0, "ids": []}
    assert client.get(f"/api/alice/tasks/{task_id}", headers=alice).status_code == 200
