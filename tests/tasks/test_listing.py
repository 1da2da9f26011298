"""Listing: filters, sorts, pages (cursor and offset), X-Total-Count, Link; stats."""

import base64
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers

TASKS = "/api/alice/tasks"
PRIORITIES = ["none", "low", "medium", "high"]
SORTS = ["created_at", "updated_at", "due_date", "priority", "title"]


def next_link(response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    url, rel = link.split(";")
    assert rel.strip() == 'rel="next"'
    return url.strip().removeprefix("<").removesuffix(">")


def walk(
    client: TestClient,
    headers: Headers,
    params: dict[str, Any],
    between_pages: Callable[[], None] | None = None,
) -> list[dict]:
    """Every task the listing returns, following Link rel="next" page after page."""
    response = client.get(TASKS, params=params, headers=headers)
    tasks = []
    while True:
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), list)
        tasks += response.json()
        url = next_link(response)
        if url is None:
            return tasks
        if between_pages:
            between_pages()
        response = client.get(url, headers=headers)


def sort_key(field: str, descending: bool) -> Callable[[dict], tuple]:
    def key(task: dict) -> tuple:
        if field == "priority":
            return (PRIORITIES.index(task["priority"]), task["id"])
        if field == "title":
            return (task["title"].lower(), task["id"])
        if field == "due_date":
            missing = "0001-01-01" if descending else "9999-12-31"
            return (task["due_date"] or missing, task["id"])
        return (datetime.fromisoformat(task[field]), task["id"])

    return key


@pytest.fixture
def many_tasks(client: TestClient, alice: Headers, bob: Headers, create_task) -> list[dict]:
    """45 tasks with many ties (priorities, due dates, titles), some changed, some done."""
    rng = random.Random(4)
    words = ["apple", "Apple", "banana", "Cherry", "cherry", "date", "Elder"]
    tasks = [
        create_task(
            title=f"{rng.choice(words)}{rng.choice(['', '1', '2'])}",
            description=rng.choice([None, "call the BANK", "milk and bread"]),
            priority=rng.choice(PRIORITIES),
            due_date=rng.choice([None, None, "2030-01-01", "2030-01-02", "2020-06-01"]),
            tags=rng.sample(["work", "Home", "errand"], rng.randint(0, 2)),
        )
        for _ in range(45)
    ]
    create_task(title="bob's", headers=bob, user="bob", tags=["work"], priority="high")
    for task in rng.sample(tasks, 10):
        body = {"description": "changed", "completed": rng.random() < 0.6}
        response = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice)
        assert response.status_code == 200
    return client.get(TASKS, params={"limit": 1000}, headers=alice).json()


# --- the default listing ----------------------------------------------------------------------


def test_default_list_is_every_task_in_creation_order_with_total(
    client: TestClient, alice: Headers, many_tasks
) -> None:
    response = client.get(TASKS, headers=alice)
    ids = [task["id"] for task in response.json()]
    assert ids == sorted(ids) and len(ids) == 45
    assert response.headers["x-total-count"] == "45"
    assert next_link(response) is None


def test_default_page_size_is_100(client: TestClient, alice: Headers) -> None:
    for _ in range(105):
        client.post(TASKS, json={"title": "t"}, headers=alice)
    response = client.get(TASKS, headers=alice)
    assert len(response.json()) == 100
    assert next_link(response) is not None
    assert len(client.get(next_link(response), headers=alice).json()) == 5


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "x"])
def test_limit_out_of_bounds_is_422(client: TestClient, alice: Headers, limit: str) -> None:
    response = client.get(TASKS, params={"limit": limit}, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_limit_of_1000_is_accepted(client: TestClient, alice: Headers, create_task) -> None:
    create_task()
    assert client.get(TASKS, params={"limit": 1000}, headers=alice).status_code == 200


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["all", "pending", "completed"])
def test_cursor_pages_cover_every_task_once(
    client: TestClient, alice: Headers, many_tasks, status: str
) -> None:
    walked = walk(client, alice, {"limit": 4, "status": status})
    expected = [
        t["id"] for t in many_tasks if status == "all" or t["completed"] == (status == "completed")
    ]
    assert [t["id"] for t in walked] == expected


def test_walking_pages_while_tasks_are_created_skips_and_repeats_nothing(
    client: TestClient, alice: Headers, many_tasks, create_task
) -> None:
    created = []
    walked = walk(client, alice, {"limit": 5}, lambda: created.append(create_task(title="new")))
    ids = [t["id"] for t in walked]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)
    assert {t["id"] for t in many_tasks} | {t["id"] for t in created} == set(ids)


@pytest.mark.parametrize("sort", ["due_date", "-priority", "title", "-created_at"])
def test_walking_sorted_pages_while_tasks_are_created_skips_and_repeats_nothing(
    client: TestClient, alice: Headers, many_tasks, create_task, sort: str
) -> None:
    rng = random.Random(sort)

    def create() -> None:
        create_task(
            title=rng.choice(["apple", "zebra", "Mango"]),
            priority=rng.choice(PRIORITIES),
            due_date=rng.choice([None, "2030-01-01", "2019-01-01"]),
        )

    walked = walk(client, alice, {"limit": 6, "sort": sort}, create)
    ids = [t["id"] for t in walked]
    assert len(ids) == len(set(ids))
    assert {t["id"] for t in many_tasks} <= set(ids)
    field = sort.removeprefix("-")
    descending = sort.startswith("-")
    assert walked == sorted(walked, key=sort_key(field, descending), reverse=descending)


def test_offset_pages_cover_every_task_once(client: TestClient, alice: Headers, many_tasks) -> None:
    walked = walk(client, alice, {"limit": 7, "offset": 0, "sort": "-priority"})
    ids = [t["id"] for t in walked]
    assert sorted(ids) == sorted(t["id"] for t in many_tasks)
    assert walked == sorted(walked, key=sort_key("priority", True), reverse=True)


def test_offset_skips_that_many(client: TestClient, alice: Headers, many_tasks) -> None:
    response = client.get(TASKS, params={"offset": 40, "limit": 3}, headers=alice)
    assert [t["id"] for t in response.json()] == [t["id"] for t in many_tasks[40:43]]
    assert "offset=43" in next_link(response)


def test_total_count_is_sent_when_asked(client: TestClient, alice: Headers, many_tasks) -> None:
    params = {"limit": 2, "count": "true", "priority": "high"}
    response = client.get(TASKS, params=params, headers=alice)
    assert response.headers["x-total-count"] == str(
        sum(t["priority"] == "high" for t in many_tasks)
    )
    assert "x-total-count" not in client.get(TASKS, params={"limit": 2}, headers=alice).headers


@pytest.mark.parametrize(
    "cursor", ["garbage", "e30", "eyJzb3J0IjoiaWQiLCJpZCI6LTF9", "x" * 1001, "%00"]
)
def test_bad_cursor_is_422_with_detail(client: TestClient, alice: Headers, cursor: str) -> None:
    response = client.get(TASKS, params={"cursor": cursor}, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]


def forged(sort: str, key: object, task_id: int = 1) -> str:
    raw = json.dumps({"sort": sort, "key": key, "id": task_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "key", "task_id"),
    [
        ("priority", 70000, 1),
        ("priority", "high", 1),
        ("title", "a\x00b", 1),
        ("title", "x" * 201, 1),
        ("created_at", "0001-01-01T00:00:00+05:00", 1),
        ("created_at", "2026-01-01T00:00:00", 1),
        ("due_date", "2026-02-30", 1),
        ("id", 5, 1),
        ("id", None, 2**31),
        ("id", None, -1),
    ],
)
def test_forged_cursors_are_422(
    client: TestClient, alice: Headers, create_task, sort: str, key, task_id: int
) -> None:
    create_task()
    params = {"cursor": forged(sort, key, task_id)}
    if sort != "id":
        params["sort"] = sort
    response = client.get(TASKS, params=params, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_cursor_of_another_sort_is_422(client: TestClient, alice: Headers, many_tasks) -> None:
    first = client.get(TASKS, params={"limit": 2, "sort": "title"}, headers=alice)
    url = next_link(first).replace("sort=title", "sort=priority")
    response = client.get(url, headers=alice)
    assert response.status_code == 422
    assert "another sort" in str(response.json()["detail"])


def test_cursor_and_offset_together_are_422(client: TestClient, alice: Headers, many_tasks) -> None:
    first = client.get(TASKS, params={"limit": 2}, headers=alice)
    response = client.get(next_link(first) + "&offset=3", headers=alice)
    assert response.status_code == 422


# --- sorts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS + [f"-{s}" for s in SORTS])
def test_every_sort_orders_with_ties_by_id_across_pages(
    client: TestClient, alice: Headers, many_tasks, sort: str
) -> None:
    field = sort.removeprefix("-")
    descending = sort.startswith("-")
    walked = walk(client, alice, {"limit": 4, "sort": sort})
    expected = sorted(many_tasks, key=sort_key(field, descending), reverse=descending)
    assert [t["id"] for t in walked] == [t["id"] for t in expected]


@pytest.mark.parametrize("sort", ["due_date", "-due_date"])
def test_tasks_without_due_date_sort_last(
    client: TestClient, alice: Headers, many_tasks, sort: str
) -> None:
    walked = walk(client, alice, {"limit": 10, "sort": sort})
    dues = [t["due_date"] for t in walked]
    first_missing = dues.index(None)
    assert all(d is None for d in dues[first_missing:])
    assert all(d is not None for d in dues[:first_missing])


def test_unknown_sort_is_422(client: TestClient, alice: Headers) -> None:
    assert client.get(TASKS, params={"sort": "id; drop"}, headers=alice).status_code == 422


# --- filters ----------------------------------------------------------------------------------


def ids_where(tasks: list[dict], predicate: Callable[[dict], bool]) -> list[int]:
    return [t["id"] for t in tasks if predicate(t)]


def listed(client: TestClient, alice: Headers, **params: Any) -> list[int]:
    return [t["id"] for t in walk(client, alice, {"limit": 8} | params)]


def test_priority_filter_repeatable_is_any_of(
    client: TestClient, alice: Headers, many_tasks
) -> None:
    assert listed(client, alice, priority=["high", "low"]) == ids_where(
        many_tasks, lambda t: t["priority"] in ("high", "low")
    )


def test_tag_filter_repeatable_needs_all_ignoring_case(
    client: TestClient, alice: Headers, many_tasks
) -> None:
    def has(task: dict, tag: str) -> bool:
        return tag.lower() in [t.lower() for t in task["tags"]]

    assert listed(client, alice, tag=["WORK"]) == ids_where(many_tasks, lambda t: has(t, "work"))
    both = ids_where(many_tasks, lambda t: has(t, "work") and has(t, "home"))
    assert both
    assert listed(client, alice, tag=["work", "home"]) == both


def test_due_before_and_after_are_strict(client: TestClient, alice: Headers, many_tasks) -> None:
    assert listed(client, alice, due_before="2030-01-02") == ids_where(
        many_tasks, lambda t: t["due_date"] is not None and t["due_date"] < "2030-01-02"
    )
    assert listed(client, alice, due_after="2030-01-01") == ids_where(
        many_tasks, lambda t: t["due_date"] == "2030-01-02"
    )
    assert listed(client, alice, due_after="2020-06-01", due_before="2030-01-02") == ids_where(
        many_tasks, lambda t: t["due_date"] == "2030-01-01"
    )


def test_a_listing_shows_each_task_exactly_as_fetching_it_does(
    client: TestClient, alice: Headers, create_task
) -> None:
    # The listing serialises rows itself; single tasks go through TaskRead: they must agree.
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    created = [
        create_task(),
        create_task(description="Two litres", priority="high", tags=["Work", "home"]),
        create_task(due_at=an_hour_ago, priority="low"),
        create_task(due_date=yesterday, recurrence="weekly", recurrence_interval=2),
        create_task(due_date=yesterday, completed=True, priority="medium"),
    ]
    client.patch(f"{TASKS}/{created[3]['id']}/complete", headers=alice)  # spawns the next one

    response = client.get(TASKS, headers=alice)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    listed = response.json()
    assert len(listed) == 6
    fetched = [client.get(f"{TASKS}/{task['id']}", headers=alice).json() for task in listed]
    assert listed == fetched
    assert [task["overdue"] for task in listed] == [False, False, True, False, False, False]
    assert {task["priority"] for task in listed} == {"none", "low", "medium", "high"}
    assert listed[3]["recurrence"] == "weekly"
    assert listed[3]["next_occurrence_id"] == listed[5]["id"]


def test_overdue_filter(client: TestClient, alice: Headers, many_tasks) -> None:
    overdue = ids_where(many_tasks, lambda t: t["overdue"])
    assert overdue
    assert overdue == ids_where(
        many_tasks, lambda t: not t["completed"] and t["due_date"] == "2020-06-01"
    )
    assert listed(client, alice, overdue="true") == overdue
    assert listed(client, alice, overdue="false") == ids_where(
        many_tasks, lambda t: not t["overdue"]
    )


def test_overdue_filter_honours_due_at(client: TestClient, alice: Headers, create_task) -> None:
    past = create_task(due_at=(datetime.now(UTC) - timedelta(minutes=5)).isoformat())
    future = create_task(due_at=(datetime.now(UTC) + timedelta(minutes=5)).isoformat())
    assert listed(client, alice, overdue="true") == [past["id"]]
    assert listed(client, alice, overdue="false") == [future["id"]]


def test_search_is_case_insensitive_in_title_and_description(
    client: TestClient, alice: Headers, many_tasks
) -> None:
    assert listed(client, alice, q="BaNk") == ids_where(
        many_tasks, lambda t: "bank" in (t["description"] or "").lower()
    )
    assert listed(client, alice, q="cherry") == ids_where(
        many_tasks, lambda t: "cherry" in t["title"].lower()
    )


def test_search_treats_wildcards_literally(client: TestClient, alice: Headers, create_task) -> None:
    percent = create_task(title="100% done")
    create_task(title="100 done")
    under = create_task(title="a_b")
    create_task(title="axb")
    assert listed(client, alice, q="100%") == [percent["id"]]
    assert listed(client, alice, q="a_b") == [under["id"]]


def test_filters_combine_with_sort_and_status(
    client: TestClient, alice: Headers, many_tasks
) -> None:
    walked = walk(
        client,
        alice,
        {"limit": 3, "status": "pending", "priority": ["medium", "high"], "sort": "-due_date"},
    )
    expected = sorted(
        (t for t in many_tasks if not t["completed"] and t["priority"] in ("medium", "high")),
        key=sort_key("due_date", True),
        reverse=True,
    )
    assert [t["id"] for t in walked] == [t["id"] for t in expected]


def test_filters_never_show_another_users_tasks(
    client: TestClient, alice: Headers, many_tasks
) -> None:
    walked = walk(client, alice, {"tag": "work", "priority": "high", "q": "b", "limit": 50})
    assert all(t["user_id"] == "alice" for t in walked)


@pytest.mark.parametrize(
    "params",
    [
        {"priority": "urgent"},
        {"due_before": "2030-02-30"},
        {"due_after": "soon"},
        {"overdue": "maybe"},
        {"q": "a\x00b"},
        {"q": "x" * 201},
        {"tag": "x" * 51},
        {"tag": [f"t{i}" for i in range(21)]},
        {"offset": "-1"},
        {"offset": str(2**31)},
        {"status": "done"},
    ],
)
def test_invalid_filters_are_422(client: TestClient, alice: Headers, params) -> None:
    response = client.get(TASKS, params=params, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]


# --- stats ------------------------------------------------------------------------------------


def test_stats_count_by_status_overdue_and_due_today(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    today = datetime.now(UTC).date()
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    create_task(due_date=today.isoformat())
    create_task(due_date=today.isoformat(), completed=True)
    create_task(due_date=(today - timedelta(days=1)).isoformat())
    create_task(due_at=a_minute_ago.isoformat())
    create_task(due_date=(today + timedelta(days=1)).isoformat())
    create_task(completed=True)
    create_task(headers=bob, user="bob", due_date=today.isoformat())
    response = client.get(f"{TASKS}/stats", headers=alice)
    assert response.status_code == 200
    assert response.json() == {
        "total": 6,
        "pending": 4,
        "completed": 2,
        "overdue": 2,
        # Just after midnight, a minute ago was yesterday.
        "due_today": 1 + (a_minute_ago.date() == today),
    }


def test_stats_is_not_taken_for_a_task_id(client: TestClient, alice: Headers) -> None:
    response = client.get(f"{TASKS}/stats", headers=alice)
    assert response.json() == {
        "total": 0,
        "pending": 0,
        "completed": 0,
        "overdue": 0,
        "due_today": 0,
    }


def test_stats_of_another_user_are_403(client: TestClient, alice: Headers) -> None:
    assert client.get("/api/bob/tasks/stats", headers=alice).status_code == 403


def test_openapi_documents_every_listing_parameter(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/{user_id}/tasks"]["get"]
    names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert names == {
        "list_id",
        "parent_id",
        "status",
        "status_filter",
        "priority",
        "tag",
        "due_before",
        "due_after",
        "overdue",
        "q",
        "sort",
        "limit",
        "cursor",
        "offset",
        "count",
    }
