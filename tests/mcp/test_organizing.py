"""The tools that organize tasks (lists, moves), and `list` on the task tools, driven by the
official MCP client over HTTP; REST must show the same state."""

import httpx2 as httpx
import pytest

from tests.conftest import make_token
from tests.mcp.conftest import call, connect, fail

pytestmark = pytest.mark.anyio

ALICE = make_token("alice", email="alice@example.com", name="Alice")
BOB = make_token("bob")


def rest(base_url: str, token: str = ALICE) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


async def test_lists_made_by_a_tool_are_the_lists_rest_shows(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        work = await call(session, "create_list", name="Work", color="blue")
        await call(session, "create_list", name="Home")
        listed = await call(session, "list_lists")
    assert (work["name"], work["color"], work["task_count"]) == ("Work", "blue", 0)
    with rest(base_url) as client:
        assert client.get("/api/alice/lists").json() == listed
    assert [row["name"] for row in listed] == ["Work", "Home"]


async def test_add_and_list_tasks_take_a_list_by_name_or_id(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        work = await call(session, "create_list", name="Work")
        by_name = await call(session, "add_task", title="Report", list="work")
        by_id = await call(session, "add_task", title="Slides", list=work["id"])
        await call(session, "add_task", title="Milk")
        in_work = await call(session, "list_tasks", list="Work")
        in_inbox = await call(session, "list_tasks", list="inbox")
        everything = await call(session, "list_tasks")
    assert [t["id"] for t in in_work] == [by_name["task_id"], by_id["task_id"]]
    assert [t["title"] for t in in_inbox] == ["Milk"]
    assert len(everything) == 3
    with rest(base_url) as client:
        shown = client.get(f"/api/alice/tasks/{by_name['task_id']}").json()
    assert shown["list_id"] == work["id"]


async def test_update_task_moves_a_task_to_a_list(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        await call(session, "create_list", name="Work")
        task = await call(session, "add_task", title="Report")
        updated = await call(session, "update_task", task_id=task["task_id"], list="Work")
        assert updated["status"] == "updated"
        assert [t["title"] for t in await call(session, "list_tasks", list="Work")] == ["Report"]
        await call(session, "update_task", task_id=task["task_id"], list="inbox")
        assert await call(session, "list_tasks", list="Work") == []


async def test_move_task_nests_and_orders_tasks(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        a, b, c = [(await call(session, "add_task", title=t))["task_id"] for t in "ABC"]
        moved = await call(session, "move_task", task_id=c, after_id=a)
        assert moved == {"task_id": c, "status": "moved", "title": "C"}
        assert [t["title"] for t in await call(session, "list_tasks", list="inbox")] == [
            "A",
            "C",
            "B",
        ]
        await call(session, "move_task", task_id=b, parent_id=a)
        await call(session, "move_task", task_id=b, top_level=True)
    with rest(base_url) as client:
        assert client.get(f"/api/alice/tasks/{b}").json()["parent_id"] is None
        assert client.get(f"/api/alice/tasks/{a}").json()["subtask_count"] == 0


async def test_another_users_list_is_not_found_by_name_or_id(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        private = await call(session, "create_list", name="Private")
    async with connect(base_url, BOB) as session:
        for ref in ("Private", private["id"], str(private["id"])):
            assert await fail(session, "add_task", title="x", list=ref) == "List not found"
        assert await call(session, "list_lists") == []


async def test_a_move_under_itself_is_a_tool_error_in_rest_words(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        top = (await call(session, "add_task", title="Top"))["task_id"]
        detail = await fail(session, "move_task", task_id=top, parent_id=top)
    assert "under itself" in detail[0]["msg"]
