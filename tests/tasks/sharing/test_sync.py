"""A shared list's changes reach every member's feed once, in commit order: `list.joined`
first, nothing after `list.left`, and a tombstone when a task leaves the list."""

from fastapi.testclient import TestClient

from tests.conftest import Headers
from tests.tasks.sharing.conftest import accept, invite


def kinds(changes: list[dict]) -> list[tuple[str, int]]:
    return [(c["type"], c.get("task_id") or c.get("list_id")) for c in changes]


def test_a_new_member_gets_list_joined_then_the_lists_changes(
    client: TestClient, alice: Headers, bob: Headers, home, changes_of
) -> None:
    list_id, task_id = home["list"]["id"], home["task"]["id"]
    client.patch(f"/api/alice/tasks/{task_id}", json={"title": "Sink"}, headers=alice)
    client.post("/api/alice/tasks", json={"title": "Alice's own"}, headers=alice)
    seen = changes_of("bob", bob)
    assert kinds(seen) == [
        ("list.joined", list_id),
        ("task.created", task_id),
        ("task.updated", task_id),
    ]
    assert (seen[0]["list"]["role"], seen[0]["list"]["name"]) == ("editor", "Home")
    assert seen[2]["task"]["title"] == "Sink"


def test_a_members_write_reaches_the_owner_and_every_member_once(
    client: TestClient, alice: Headers, bob: Headers, carol: Headers, home, changes_of
) -> None:
    task_id = home["task"]["id"]
    client.patch(f"/api/bob/tasks/{task_id}/complete", headers=bob)
    for user, headers in (("alice", alice), ("bob", bob), ("carol", carol)):
        completions = [c for c in changes_of(user, headers) if c["type"] == "task.updated"]
        assert len(completions) == 1, user
        assert completions[0]["task"]["completed_by"] == "bob"


def test_a_removed_member_gets_list_left_and_nothing_after(
    client: TestClient, alice: Headers, bob: Headers, home, changes_of
) -> None:
    list_id, task_id = home["list"]["id"], home["task"]["id"]
    before = client.get("/api/bob/changes", headers=bob).json()["next"]
    client.delete(f"/api/alice/lists/{list_id}/members/bob", headers=alice)
    client.patch(f"/api/alice/tasks/{task_id}", json={"title": "After"}, headers=alice)
    client.post("/api/alice/tasks", json={"title": "New", "list_id": list_id}, headers=alice)
    client.patch(f"/api/alice/lists/{list_id}", json={"name": "Renamed"}, headers=alice)
    assert kinds(changes_of("bob", bob, before)) == [("list.left", list_id)]
    assert "After" not in str(changes_of("bob", bob))


def test_a_task_moved_out_of_the_shared_list_is_gone_for_its_members(
    client: TestClient, alice: Headers, bob: Headers, home, changes_of
) -> None:
    task_id = home["task"]["id"]
    sub = client.post(
        "/api/alice/tasks", json={"title": "Sub", "parent_id": task_id}, headers=alice
    )
    before = client.get("/api/bob/changes", headers=bob).json()["next"]
    owners_before = client.get("/api/alice/changes", headers=alice).json()["next"]
    moved = client.post(f"/api/alice/tasks/{task_id}/move", json={"list_id": None}, headers=alice)
    assert moved.status_code == 200
    assert sorted(kinds(changes_of("bob", bob, before))) == [
        ("task.deleted", task_id),
        ("task.deleted", sub.json()["id"]),
    ]
    assert client.get(f"/api/bob/tasks/{task_id}", headers=bob).status_code == 404
    assert client.get("/api/bob/tasks", headers=bob).json() == []
    owners = kinds(changes_of("alice", alice, owners_before))
    assert ("task.deleted", task_id) not in owners
    assert ("task.updated", task_id) in owners


def test_a_task_moved_into_a_shared_list_appears_for_its_members(
    client: TestClient, alice: Headers, bob: Headers, home, changes_of
) -> None:
    own = client.post("/api/alice/tasks", json={"title": "Was private"}, headers=alice).json()
    before = client.get("/api/bob/changes", headers=bob).json()["next"]
    client.post(
        f"/api/alice/tasks/{own['id']}/move", json={"list_id": home["list"]["id"]}, headers=alice
    )
    assert kinds(changes_of("bob", bob, before)) == [("task.updated", own["id"])]


def test_deleting_the_list_tells_every_member(
    client: TestClient, alice: Headers, carol: Headers, home, changes_of
) -> None:
    list_id, task_id = home["list"]["id"], home["task"]["id"]
    before = client.get("/api/carol/changes", headers=carol).json()["next"]
    client.delete(f"/api/alice/lists/{list_id}", headers=alice)
    assert kinds(changes_of("carol", carol, before)) == [
        ("task.deleted", task_id),
        ("list.deleted", list_id),
    ]


def test_a_list_rename_reaches_members_without_anyones_role(
    client: TestClient, alice: Headers, carol: Headers, home, changes_of
) -> None:
    list_id = home["list"]["id"]
    client.patch(f"/api/alice/lists/{list_id}", json={"name": "House"}, headers=alice)
    renamed = changes_of("carol", carol)[-1]
    assert (renamed["type"], renamed["list"]["name"]) == ("list.updated", "House")
    assert "role" not in renamed["list"]
    assert renamed["list"]["owner_id"] == "alice"


def test_a_role_change_tells_that_member_their_new_role(
    client: TestClient, alice: Headers, carol: Headers, home, changes_of
) -> None:
    list_id = home["list"]["id"]
    client.patch(
        f"/api/alice/lists/{list_id}/members/carol", json={"role": "editor"}, headers=alice
    )
    last = changes_of("carol", carol)[-1]
    assert (last["type"], last["list"]["role"]) == ("list.joined", "editor")


def test_rejoining_after_leaving_starts_with_list_joined_again(
    client: TestClient, alice: Headers, carol: Headers, home, changes_of
) -> None:
    list_id = home["list"]["id"]
    client.delete(f"/api/carol/lists/{list_id}/members/carol", headers=carol)
    token = invite(client, list_id, "viewer")["token"]
    assert accept(client, "carol", token).status_code == 200
    assert [c["type"] for c in changes_of("carol", carol)][-2:] == ["list.left", "list.joined"]
