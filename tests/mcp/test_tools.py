"""The task tools, driven by the official MCP client over HTTP; REST must show the same state."""

import logging
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest

from tests.conftest import make_token
from tests.mcp.conftest import Serve, call, connect, fail
from todo_api import tasks as task_service

pytestmark = pytest.mark.anyio

ALICE = make_token("alice", email="alice@example.com", name="Alice")
TOOLS = {
    "add_task",
    "list_tasks",
    "complete_task",
    "delete_task",
    "update_task",
    "search_tasks",
    "task_stats",
    "list_lists",
    "create_list",
    "move_task",
}


def rest(base_url: str, token: str = ALICE) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


async def test_the_tools_are_listed_with_descriptions_and_schemas(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40
        assert "\n    " not in tool.description  # dedented
        assert tool.output_schema is not None
        properties = tool.input_schema["properties"]
        # Every tool takes the optional user_id of the original spec, and needs nothing else
        # but what the table says.
        assert "user_id" in properties
        assert "user_id" not in tool.input_schema.get("required", [])
        for name, schema in properties.items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
    assert tools["add_task"].input_schema["required"] == ["title"]
    assert {"title", "description", "priority", "due_date", "due_at", "tags", "recurrence"} <= set(
        tools["add_task"].input_schema["properties"]
    )
    assert tools["add_task"].input_schema["properties"]["title"]["maxLength"] == 200
    assert tools["list_tasks"].input_schema["properties"].keys() == {"status", "list", "user_id"}
    for name in ("complete_task", "delete_task", "update_task"):
        assert tools[name].input_schema["required"] == ["task_id"]
        assert tools[name].input_schema["properties"]["task_id"]["type"] == "integer"
    assert {"q", "status", "priority", "tag", "due_before", "overdue", "sort"} <= set(
        tools["search_tasks"].input_schema["properties"]
    )
    assert tools["list_tasks"].annotations is not None
    assert tools["list_tasks"].annotations.read_only_hint is True
    assert tools["delete_task"].annotations is not None
    assert tools["delete_task"].annotations.destructive_hint is True


async def test_add_task_creates_the_task_the_rest_api_shows(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        created = await call(session, "add_task", title="Buy milk", description="Two litres")
        assert created == {"task_id": created["task_id"], "status": "created", "title": "Buy milk"}
        detailed = await call(
            session,
            "add_task",
            title="  Pay rent  ",
            priority="high",
            due_date="2030-05-01",
            tags=["home", "money"],
            recurrence="monthly",
            user_id="alice",
        )
    assert detailed["title"] == "Pay rent"  # trimmed, as REST trims it
    with rest(base_url) as client:
        task = client.get(f"/api/alice/tasks/{created['task_id']}").json()
        assert (task["title"], task["description"], task["completed"]) == (
            "Buy milk",
            "Two litres",
            False,
        )
        task = client.get(f"/api/alice/tasks/{detailed['task_id']}").json()
    assert task["priority"] == "high"
    assert task["due_date"] == "2030-05-01"
    assert task["tags"] == ["home", "money"]
    assert task["recurrence"] == "monthly"


async def test_add_task_takes_a_due_time_with_its_offset(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        created = await call(session, "add_task", title="Call", due_at="2030-05-01T23:30:00-02:00")
    with rest(base_url) as client:
        task = client.get(f"/api/alice/tasks/{created['task_id']}").json()
    assert task["due_at"] == "2030-05-02T01:30:00Z"
    assert task["due_date"] == "2030-05-02"


async def test_list_tasks_lists_the_callers_tasks_by_status(base_url: str) -> None:
    with rest(base_url) as client:
        ids = [
            client.post("/api/alice/tasks", json={"title": f"T{n}"}).json()["id"] for n in range(3)
        ]
        client.patch(f"/api/alice/tasks/{ids[1]}/complete")
    async with connect(base_url, ALICE) as session:
        everything = await call(session, "list_tasks")
        pending = await call(session, "list_tasks", status="pending")
        completed = await call(session, "list_tasks", status="completed")
        assert await call(session, "list_tasks", status="all") == everything
    assert everything == [
        {"id": ids[0], "title": "T0", "completed": False},
        {"id": ids[1], "title": "T1", "completed": True},
        {"id": ids[2], "title": "T2", "completed": False},
    ]
    assert pending == [everything[0], everything[2]]
    assert completed == [everything[1]]


async def test_list_tasks_of_a_user_without_tasks_is_empty(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        assert await call(session, "list_tasks") == []


async def test_complete_task_completes_it_once(base_url: str) -> None:
    with rest(base_url) as client:
        task = client.post("/api/alice/tasks", json={"title": "Walk"}).json()
    async with connect(base_url, ALICE) as session:
        done = await call(session, "complete_task", task_id=task["id"])
        assert done == {"task_id": task["id"], "status": "completed", "title": "Walk"}
        with rest(base_url) as client:
            first = client.get(f"/api/alice/tasks/{task['id']}").json()
        # Completing a completed task leaves it as it is (no toggle back, no new version).
        assert await call(session, "complete_task", task_id=task["id"]) == done
    with rest(base_url) as client:
        again = client.get(f"/api/alice/tasks/{task['id']}").json()
    assert first["completed"] is True and first["completed_at"] is not None
    assert again == first


async def test_complete_task_on_a_recurring_task_creates_its_next_occurrence(
    base_url: str,
) -> None:
    with rest(base_url) as client:
        task = client.post(
            "/api/alice/tasks",
            json={"title": "Gym", "recurrence": "weekly", "due_date": "2030-01-07"},
        ).json()
    async with connect(base_url, ALICE) as session:
        await call(session, "complete_task", task_id=task["id"])
    with rest(base_url) as client:
        done = client.get(f"/api/alice/tasks/{task['id']}").json()
        following = client.get(f"/api/alice/tasks/{done['next_occurrence_id']}").json()
    assert following["due_date"] == "2030-01-14"
    assert following["completed"] is False


async def test_update_task_changes_only_the_fields_given(base_url: str) -> None:
    with rest(base_url) as client:
        task = client.post(
            "/api/alice/tasks",
            json={"title": "Draft", "description": "notes", "tags": ["work"], "priority": "low"},
        ).json()
    async with connect(base_url, ALICE) as session:
        updated = await call(
            session, "update_task", task_id=task["id"], title="Final", priority="high"
        )
    assert updated == {"task_id": task["id"], "status": "updated", "title": "Final"}
    with rest(base_url) as client:
        now = client.get(f"/api/alice/tasks/{task['id']}").json()
    assert (now["title"], now["priority"], now["description"], now["tags"]) == (
        "Final",
        "high",
        "notes",
        ["work"],
    )
    assert now["version"] == task["version"] + 1


async def test_update_task_clears_the_fields_named_in_clear(base_url: str) -> None:
    with rest(base_url) as client:
        task = client.post(
            "/api/alice/tasks",
            json={
                "title": "Trip",
                "description": "pack",
                "tags": ["travel"],
                "priority": "medium",
                "due_at": "2030-06-01T09:00:00Z",
            },
        ).json()
    async with connect(base_url, ALICE) as session:
        await call(
            session,
            "update_task",
            task_id=task["id"],
            clear=["description", "tags", "priority", "due_date"],
        )
    with rest(base_url) as client:
        now = client.get(f"/api/alice/tasks/{task['id']}").json()
    assert now["description"] is None
    assert now["tags"] == []
    assert now["priority"] == "none"
    assert (now["due_date"], now["due_at"]) == (None, None)
    assert now["title"] == "Trip"


async def test_update_task_reopens_a_completed_task(base_url: str) -> None:
    with rest(base_url) as client:
        task = client.post("/api/alice/tasks", json={"title": "Oops", "completed": True}).json()
    async with connect(base_url, ALICE) as session:
        await call(session, "update_task", task_id=task["id"], completed=False)
    with rest(base_url) as client:
        now = client.get(f"/api/alice/tasks/{task['id']}").json()
    assert (now["completed"], now["completed_at"]) == (False, None)


async def test_delete_task_deletes_it(base_url: str) -> None:
    with rest(base_url) as client:
        task = client.post("/api/alice/tasks", json={"title": "Old"}).json()
    async with connect(base_url, ALICE) as session:
        deleted = await call(session, "delete_task", task_id=task["id"])
        assert deleted == {"task_id": task["id"], "status": "deleted", "title": "Old"}
        assert await fail(session, "delete_task", task_id=task["id"]) == "Task not found"
    with rest(base_url) as client:
        assert client.get(f"/api/alice/tasks/{task['id']}").status_code == 404


async def test_search_tasks_filters_as_the_listing_does(base_url: str) -> None:
    with rest(base_url) as client:
        for body in (
            {"title": "Buy milk", "tags": ["Errands"], "priority": "high"},
            {"title": "Buy bread", "description": "whole grain", "priority": "low"},
            {"title": "Write report", "tags": ["work"], "due_date": "2000-01-01"},
            {"title": "Milk the budget", "completed": True},
        ):
            client.post("/api/alice/tasks", json=body)
        listed = client.get("/api/alice/tasks", params={"q": "milk", "status": "pending"}).json()
    async with connect(base_url, ALICE) as session:
        found = await call(session, "search_tasks", q="MILK", status="pending")
        assert found["tasks"] == listed  # every field, as REST shows the task
        assert (found["total"], found["next_offset"]) == (1, None)
        by_tag = await call(session, "search_tasks", tag=["errands"])
        assert [task["title"] for task in by_tag["tasks"]] == ["Buy milk"]
        high_or_low = await call(session, "search_tasks", priority=["high", "low"], sort="title")
        assert [task["title"] for task in high_or_low["tasks"]] == ["Buy bread", "Buy milk"]
        overdue = await call(session, "search_tasks", overdue=True)
        assert [task["title"] for task in overdue["tasks"]] == ["Write report"]
        assert overdue["tasks"][0]["overdue"] is True
        page = await call(session, "search_tasks", limit=3)
        assert (len(page["tasks"]), page["total"], page["next_offset"]) == (3, 4, 3)
        rest_of_it = await call(session, "search_tasks", limit=3, offset=page["next_offset"])
        assert [task["title"] for task in rest_of_it["tasks"]] == ["Milk the budget"]
        assert rest_of_it["next_offset"] is None


async def test_task_stats_counts_what_the_rest_api_counts(base_url: str) -> None:
    today = datetime.now(UTC).date()
    with rest(base_url) as client:
        client.post("/api/alice/tasks", json={"title": "a", "due_date": str(today)})
        client.post("/api/alice/tasks", json={"title": "b", "due_date": "2001-01-01"})
        client.post("/api/alice/tasks", json={"title": "c", "completed": True})
        stats = client.get("/api/alice/tasks/stats").json()
    async with connect(base_url, ALICE) as session:
        assert await call(session, "task_stats") == stats
    assert stats == {"total": 3, "pending": 2, "completed": 1, "overdue": 1, "due_today": 1}


async def test_the_handshake_era_protocol_works_too(base_url: str) -> None:
    # Clients on SDKs before the 2026 revision (the OpenAI Agents SDK, Claude Desktop) send
    # `initialize` first: stateless, that works request by request as well.
    async with connect(base_url, ALICE, mode="legacy") as session:
        assert session.protocol_version < "2026"
        created = await call(session, "add_task", title="Legacy")
        assert await call(session, "list_tasks") == [
            {"id": created["task_id"], "title": "Legacy", "completed": False}
        ]


# --- errors: the REST API's detail, as a tool error ------------------------------------------


async def test_an_unknown_task_is_the_rest_apis_not_found(base_url: str) -> None:
    with rest(base_url) as client:
        rest_detail = client.patch("/api/alice/tasks/999/complete").json()["detail"]
    async with connect(base_url, ALICE) as session:
        for tool in ("complete_task", "delete_task", "update_task"):
            assert await fail(session, tool, task_id=999) == rest_detail == "Task not found"
        assert await fail(session, "complete_task", task_id=2**40) == "Task not found"


async def test_a_task_id_that_is_not_an_integer_is_refused_as_rest_refuses_it(
    base_url: str,
) -> None:
    with rest(base_url) as client:
        task = client.post("/api/alice/tasks", json={"title": "kept"}).json()
    assert task["id"] == 1  # so that true, read as 1, would name it
    async with connect(base_url, ALICE) as session:
        for tool in ("complete_task", "delete_task", "update_task"):
            (problem,) = await fail(session, tool, task_id=True)
            assert problem["loc"] == ["arguments", "task_id"]
            assert "integer" in problem["msg"]
    with rest(base_url) as client:
        assert client.get("/api/alice/tasks/1").json()["completed"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "   "},
        {"title": "nul\x00"},
        {"title": "ok", "priority": "urgent"},
        {"title": "ok", "tags": [f"t{n}" for n in range(21)]},
        {"title": "ok", "due_date": "tomorrow"},
        {"title": "ok", "due_at": "2030-01-01T10:00:00"},
        {"title": "ok", "due_date": "2030-01-01", "due_at": "2030-01-02T10:00:00Z"},
        {"title": "ok", "recurrence_interval": 0},
    ],
)
async def test_invalid_arguments_get_the_rest_apis_validation_messages(
    base_url: str, body: dict[str, Any]
) -> None:
    with rest(base_url) as client:
        response = client.post("/api/alice/tasks", json=body)
    assert response.status_code == 422
    async with connect(base_url, ALICE) as session:
        detail = await fail(session, "add_task", **body)
        assert await call(session, "list_tasks") == []
    assert [problem["msg"] for problem in detail] == [
        problem["msg"] for problem in response.json()["detail"]
    ]
    assert [problem["loc"][1:] for problem in detail] == [
        problem["loc"][1:] for problem in response.json()["detail"]
    ]
    assert all(problem["loc"][0] == "arguments" for problem in detail)


async def test_a_missing_title_is_a_validation_error(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        detail = await fail(session, "add_task", description="no title")
    assert detail[0]["loc"] == ["arguments", "title"]
    assert detail[0]["msg"] == "Field required"


async def test_the_task_cap_applies_with_the_rest_apis_detail(serve: Serve) -> None:
    base_url = serve(max_tasks_per_user=2)
    async with connect(base_url, ALICE) as session:
        await call(session, "add_task", title="one")
        await call(session, "add_task", title="two")
        detail = await fail(session, "add_task", title="three")
    with rest(base_url) as client:
        response = client.post("/api/alice/tasks", json={"title": "three"})
        assert len(client.get("/api/alice/tasks").json()) == 2
    assert response.status_code == 409
    assert detail == response.json()["detail"]


async def test_completing_a_recurring_task_at_the_cap_is_refused_as_over_rest(
    serve: Serve,
) -> None:
    base_url = serve(max_tasks_per_user=2)
    with rest(base_url) as client:
        first = client.post("/api/alice/tasks", json={"title": "d", "recurrence": "daily"}).json()
        client.post("/api/alice/tasks", json={"title": "two"})
    async with connect(base_url, ALICE) as session:
        detail = await fail(session, "complete_task", task_id=first["id"])
    with rest(base_url) as client:
        assert len(client.get("/api/alice/tasks").json()) == 2
        assert client.get(f"/api/alice/tasks/{first['id']}").json()["completed"] is False
    assert detail == "Task limit reached: one user may hold at most 2 tasks"


async def test_tool_calls_count_against_the_users_rate_limit(serve: Serve) -> None:
    base_url = serve(rate_limit_per_user="4/minute")
    async with connect(base_url, ALICE) as session:
        for _ in range(3):
            await call(session, "task_stats")
        await call(session, "add_task", title="fourth request")
        detail = await fail(session, "add_task", title="fifth request")
        assert detail.startswith("Too many requests for this user; retry in ")
    with rest(base_url) as client:
        # The same budget: REST is refused too, with the same words.
        response = client.get("/api/alice/tasks")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many requests for this user; retry in ")
    with rest(base_url, make_token("bob")) as client:
        assert client.get("/api/bob/tasks").status_code == 200


async def test_an_unexpected_failure_is_a_generic_error_and_a_logged_traceback(
    base_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("connection string postgresql://secret@db")

    monkeypatch.setattr(task_service, "task_stats", broken)
    with caplog.at_level(logging.ERROR, logger="todo_api"):
        async with connect(base_url, ALICE) as session:
            result = await session.call_tool("task_stats", {})
    assert result.is_error
    assert result.content[0].text == "Internal server error"  # type: ignore[union-attr]
    assert "secret" not in result.model_dump_json()
    assert "Traceback" not in result.model_dump_json()
    assert any(record.exc_info and "secret" in str(record.exc_info[1]) for record in caplog.records)


async def test_an_unknown_tool_is_a_tool_error(base_url: str) -> None:
    async with connect(base_url, ALICE) as session:
        result = await session.call_tool("drop_database", {})
    assert result.is_error
