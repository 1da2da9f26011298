"""One user's token cannot read or change another user's tasks: not by id, not by `user_id`."""

import httpx2 as httpx
import pytest

from tests.conftest import make_token
from tests.mcp.conftest import call, connect, fail

pytestmark = pytest.mark.anyio

ALICE = make_token("alice")
MALLORY = make_token("mallory")
FORBIDDEN = "Not authorized to access this user's tasks"


@pytest.fixture
def alices_task(base_url: str) -> dict[str, object]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ALICE}"}) as client:
        task: dict[str, object] = client.post(
            "/api/alice/tasks", json={"title": "Alice's secret", "description": "diary"}
        ).json()
    return task


def alices_view(base_url: str, task_id: object) -> dict[str, object]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ALICE}"}) as client:
        response = client.get(f"/api/alice/tasks/{task_id}")
        assert response.status_code == 200
        task: dict[str, object] = response.json()
        return task


async def test_another_users_task_is_not_found_for_every_tool(
    base_url: str, alices_task: dict[str, object]
) -> None:
    task_id = alices_task["id"]
    async with connect(base_url, MALLORY) as session:
        assert await fail(session, "complete_task", task_id=task_id) == "Task not found"
        assert await fail(session, "update_task", task_id=task_id, title="pwned") == (
            "Task not found"
        )
        assert await fail(session, "delete_task", task_id=task_id) == "Task not found"
        assert await call(session, "list_tasks") == []
        assert (await call(session, "search_tasks", q="secret"))["tasks"] == []
        assert (await call(session, "task_stats"))["total"] == 0
    assert alices_view(base_url, task_id) == alices_task


async def test_naming_another_user_is_refused_and_changes_nothing(
    base_url: str, alices_task: dict[str, object]
) -> None:
    task_id = alices_task["id"]
    async with connect(base_url, MALLORY) as session:
        for tool, arguments in [
            ("list_tasks", {}),
            ("search_tasks", {"q": "secret"}),
            ("task_stats", {}),
            ("add_task", {"title": "planted"}),
            ("complete_task", {"task_id": task_id}),
            ("update_task", {"task_id": task_id, "title": "pwned"}),
            ("delete_task", {"task_id": task_id}),
        ]:
            assert await fail(session, tool, user_id="alice", **arguments) == FORBIDDEN
        # Their own id is fine (clients of the original spec send it).
        assert await call(session, "list_tasks", user_id="mallory") == []
    assert alices_view(base_url, task_id) == alices_task
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ALICE}"}) as client:
        assert [task["title"] for task in client.get("/api/alice/tasks").json()] == [
            "Alice's secret"
        ]


async def test_the_token_decides_whose_tasks_a_write_touches(base_url: str) -> None:
    async with connect(base_url, MALLORY) as session:
        created = await call(session, "add_task", title="mine")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {MALLORY}"}) as client:
        task = client.get(f"/api/mallory/tasks/{created['task_id']}").json()
    assert task["user_id"] == "mallory"
    async with connect(base_url, ALICE) as session:
        assert await call(session, "list_tasks") == []
