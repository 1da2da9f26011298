"""MCP tools act with the caller's role in a shared list, as REST does: driven by the
official MCP client over HTTP."""

import httpx2 as httpx
import pytest

from tests.conftest import make_token
from tests.mcp.conftest import call, connect, fail

pytestmark = pytest.mark.anyio

ALICE, BOB, CAROL = (make_token(user) for user in ("alice", "bob", "carol"))


def rest(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


def share(base_url: str) -> tuple[int, int]:
    """alice's list "Home" with one task, bob an editor of it, carol a viewer."""
    with rest(base_url, ALICE) as alice:
        home = alice.post("/api/alice/lists", json={"name": "Home"}).json()
        task = alice.post("/api/alice/tasks", json={"title": "Sink", "list_id": home["id"]})
        for user, token, role in (("bob", BOB, "editor"), ("carol", CAROL, "viewer")):
            url = f"/api/alice/lists/{home['id']}/invitations"
            link = alice.post(url, json={"role": role}).json()["token"]
            with rest(base_url, token) as member:
                joined = member.post(f"/api/{user}/invitations/accept", json={"token": link})
                assert joined.status_code == 200
    return home["id"], task.json()["id"]


async def test_a_viewer_reads_shared_tasks_but_a_write_is_a_tool_error(base_url: str) -> None:
    _, task_id = share(base_url)
    async with connect(base_url, CAROL) as session:
        listed = await call(session, "list_tasks")
        refused = await fail(session, "update_task", task_id=task_id, title="Hijacked")
        not_done = await fail(session, "complete_task", task_id=task_id)
    assert [t["title"] for t in listed] == ["Sink"]
    assert "viewer" in refused and "viewer" in not_done
    with rest(base_url, ALICE) as alice:
        task = alice.get(f"/api/alice/tasks/{task_id}").json()
    assert (task["title"], task["completed"]) == ("Sink", False)


async def test_an_editor_adds_to_and_completes_in_a_shared_list_by_name(base_url: str) -> None:
    home_id, task_id = share(base_url)
    async with connect(base_url, BOB) as session:
        added = await call(session, "add_task", title="Towels", list="home")
        await call(session, "complete_task", task_id=task_id)
        lists = await call(session, "list_lists")
        taken = await fail(session, "update_task", task_id=task_id, list="inbox")
    assert [(row["name"], row["role"]) for row in lists] == [("Home", "editor")]
    assert "owner" in taken
    with rest(base_url, ALICE) as alice:
        towels = alice.get(f"/api/alice/tasks/{added['task_id']}").json()
        sink = alice.get(f"/api/alice/tasks/{task_id}").json()
    assert (towels["list_id"], towels["created_by"]) == (home_id, "bob")
    assert (sink["completed_by"], sink["list_id"]) == ("bob", home_id)


async def test_a_stranger_finds_nothing(base_url: str) -> None:
    _, task_id = share(base_url)
    async with connect(base_url, make_token("dave")) as session:
        assert await call(session, "list_tasks") == []
        assert "not found" in (await fail(session, "delete_task", task_id=task_id)).lower()
