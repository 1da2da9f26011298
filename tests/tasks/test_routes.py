"""The guidelines' task endpoints, as a client sees them and as the database stores them."""

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query

TASKS = "/api/alice/tasks"


def parse_timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no time zone"
    return parsed


# --- create -----------------------------------------------------------------------------------


def test_create_returns_201_with_every_field(client: TestClient, alice: Headers) -> None:
    before = datetime.now(UTC)
    response = client.post(TASKS, json={"title": "Buy milk", "description": "2 l"}, headers=alice)
    assert response.status_code == 201
    task = response.json()
    # The guidelines' fields, then issue 4's (additions only: old clients ignore them).
    assert set(task) == {
        "id",
        "user_id",
        "title",
        "description",
        "completed",
        "created_at",
        "updated_at",
    } | {
        "completed_at",
        "priority",
        "due_date",
        "due_at",
        "overdue",
        "tags",
        "recurrence",
        "recurrence_interval",
        "next_occurrence_id",
        "version",
        "reminders",
    } | {"list_id", "parent_id", "position", "subtask_count", "completed_subtask_count"} | {
        "created_by",
        "completed_by",
    }
    assert task["user_id"] == task["created_by"] == "alice"
    assert task["title"] == "Buy milk"
    assert task["description"] == "2 l"
    assert task["completed"] is False
    assert before <= parse_timestamp(task["created_at"]) <= datetime.now(UTC)
    assert task["created_at"] == task["updated_at"]


def test_create_stores_the_task(client: TestClient, alice: Headers) -> None:
    task = client.post(TASKS, json={"title": "Stored"}, headers=alice).json()
    rows = query(
        client,
        "SELECT user_id, title, description, completed FROM task WHERE id = :id",
        id=task["id"],
    )
    assert rows == [
        {"user_id": "alice", "title": "Stored", "description": None, "completed": False}
    ]


def test_create_trims_surrounding_whitespace_from_title(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"title": "  \t Buy milk \n"}, headers=alice)
    assert response.json()["title"] == "Buy milk"


@pytest.mark.parametrize("title", ["", "   ", "\t\n"])
def test_create_rejects_blank_title(client: TestClient, alice: Headers, title: str) -> None:
    response = client.post(TASKS, json={"title": title}, headers=alice)
    assert response.status_code == 422
    assert query(client, "SELECT id FROM task") == []


def test_create_rejects_missing_title(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"description": "no title"}, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "title"]


def test_create_accepts_title_of_exactly_200_characters(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"title": "x" * 200}, headers=alice)
    assert response.status_code == 201
    assert response.json()["title"] == "x" * 200


def test_create_rejects_title_of_201_characters(client: TestClient, alice: Headers) -> None:
    assert client.post(TASKS, json={"title": "x" * 201}, headers=alice).status_code == 422


def test_title_length_counts_the_title_as_sent_as_the_schema_says(
    client: TestClient, alice: Headers
) -> None:
    response = client.post(TASKS, json={"title": "  " + "x" * 196 + "  "}, headers=alice)
    assert response.json()["title"] == "x" * 196
    too_long = client.post(TASKS, json={"title": "  " + "x" * 200 + "  "}, headers=alice)
    assert too_long.status_code == 422


def test_unicode_title_of_200_characters_round_trips(client: TestClient, alice: Headers) -> None:
    title = "é🙂漢" * 66 + "ñ🙂"
    assert len(title) == 200
    task = client.post(
        TASKS, json={"title": title, "description": "naïve ☕"}, headers=alice
    ).json()
    fetched = client.get(f"{TASKS}/{task['id']}", headers=alice).json()
    assert fetched["title"] == title
    assert fetched["description"] == "naïve ☕"
    stored = query(client, "SELECT title FROM task WHERE id = :id", id=task["id"])
    assert stored == [{"title": title}]


def test_create_accepts_description_of_1000_characters(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"title": "t", "description": "d" * 1000}, headers=alice)
    assert response.status_code == 201


def test_create_rejects_description_of_1001_characters(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"title": "t", "description": "d" * 1001}, headers=alice)
    assert response.status_code == 422


@pytest.mark.parametrize("field", ["title", "description"])
def test_create_rejects_nul_characters(client: TestClient, alice: Headers, field: str) -> None:
    body = {"title": "ok", field: "bad\x00value"}
    response = client.post(TASKS, json=body, headers=alice)
    assert response.status_code == 422
    assert query(client, "SELECT id FROM task") == []


def test_create_rejects_malformed_json(client: TestClient, alice: Headers) -> None:
    response = client.post(
        TASKS, content=b'{"title": "oops"', headers=alice | {"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "detail" in response.json()


@pytest.mark.parametrize("body", [b"[]", b'"title"', b"null", b'{"title": 5}'])
def test_create_rejects_json_of_the_wrong_shape(
    client: TestClient, alice: Headers, body: bytes
) -> None:
    headers = alice | {"Content-Type": "application/json"}
    assert client.post(TASKS, content=body, headers=headers).status_code == 422


def test_create_rejects_body_without_json_content_type(client: TestClient, alice: Headers) -> None:
    response = client.post(
        TASKS, content=b'{"title": "x"}', headers=alice | {"Content-Type": "text/plain"}
    )
    assert response.status_code == 422
    assert query(client, "SELECT id FROM task") == []


@pytest.mark.parametrize("completed", [0, 1, "true", "no", 1.0])
def test_create_rejects_completed_that_is_not_a_json_boolean(
    client: TestClient, alice: Headers, completed: object
) -> None:
    response = client.post(TASKS, json={"title": "t", "completed": completed}, headers=alice)
    assert response.status_code == 422
    assert query(client, "SELECT id FROM task") == []


def test_body_that_is_not_utf8_is_a_declared_400(client: TestClient, alice: Headers) -> None:
    headers = alice | {"Content-Type": "application/json"}
    response = client.post(TASKS, content=b'{"title": "\xff\xfe"}', headers=headers)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert query(client, "SELECT id FROM task") == []
    declared = client.get("/openapi.json").json()["paths"]["/api/{user_id}/tasks"]["post"]
    assert "400" in declared["responses"]


def test_schema_describes_the_title_and_description_rules(client: TestClient) -> None:
    fields = client.get("/openapi.json").json()["components"]["schemas"]["TaskCreate"]
    title = fields["properties"]["title"]
    description = fields["properties"]["description"]["anyOf"][0]
    title_rule, description_rule = re.compile(title["pattern"]), re.compile(description["pattern"])
    assert title_rule.search("Buy milk") and not title_rule.search(" \t ")
    assert not title_rule.search("a\x00b") and not description_rule.search("a\x00b")
    assert description_rule.search("")


def test_create_ignores_client_supplied_owner_and_id(client: TestClient, alice: Headers) -> None:
    body = {"title": "mine", "user_id": "bob", "id": 999, "created_at": "2000-01-01T00:00:00Z"}
    task = client.post(TASKS, json=body, headers=alice).json()
    assert task["user_id"] == "alice"
    assert task["id"] != 999
    assert not task["created_at"].startswith("2000")


def test_create_can_start_completed(client: TestClient, alice: Headers) -> None:
    response = client.post(TASKS, json={"title": "done", "completed": True}, headers=alice)
    assert response.json()["completed"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Plain"},
        {"title": 'Ünïcode \u2028 "quoted"', "description": "line\nbreak", "tags": ["b", "a"]},
        {"title": "Due", "due_at": "2031-05-04T09:30:00.250+02:00", "priority": "high"},
        {
            "title": "Reminded",
            "due_at": "2031-05-04T09:30:00Z",
            "reminders": [{"before_minutes": 15}],
        },
        {"title": "Weekly", "due_date": "2031-05-04", "recurrence": "weekly"},
        {"title": "Overdue", "due_date": "2001-01-01"},
        {"title": "Done", "completed": True},
        {"title": "In a list", "list_id": "LIST"},
        {"title": "Under a parent", "parent_id": "PARENT"},
    ],
    ids=lambda body: body["title"],
)
@pytest.mark.parametrize("key", [None, "once"], ids=["", "with Idempotency-Key"])
def test_a_created_task_is_answered_as_a_read_shows_it(
    client: TestClient, alice: Headers, body: dict[str, object], key: str | None
) -> None:
    # The create's answer is the JSON its creation logged; a read writes it from the row.
    body = dict(body)  # the parameters are shared by the cases: ids are filled in a copy
    if body.get("list_id") == "LIST":
        body["list_id"] = client.post("/api/alice/lists", json={"name": "L"}, headers=alice).json()[
            "id"
        ]
    if body.get("parent_id") == "PARENT":
        body["parent_id"] = client.post(TASKS, json={"title": "P"}, headers=alice).json()["id"]
    headers = alice if key is None else alice | {"Idempotency-Key": key}
    created = client.post(TASKS, json=body, headers=headers)
    assert created.status_code == 201, created.text
    read = client.get(f"{TASKS}/{created.json()['id']}", headers=alice)
    # The same fields in the same order (PostgreSQL's jsonb keeps a reminder's keys in an order
    # of its own: objects compare as objects).
    assert list(created.json().items()) == list(read.json().items())
    assert created.headers["etag"] == read.headers["etag"]
    if key is not None:  # and a retry's answer, read from the row
        replayed = client.post(TASKS, json=body, headers=headers)
        assert list(replayed.json().items()) == list(read.json().items())
        assert replayed.headers["etag"] == read.headers["etag"]


# --- list -------------------------------------------------------------------------------------


def test_list_is_empty_for_a_new_user(client: TestClient, alice: Headers) -> None:
    response = client.get(TASKS, headers=alice)
    assert response.status_code == 200
    assert response.json() == []


def test_list_returns_tasks_in_creation_order(
    client: TestClient, alice: Headers, create_task
) -> None:
    ids = [create_task(f"task {n}")["id"] for n in range(5)]
    assert [task["id"] for task in client.get(TASKS, headers=alice).json()] == ids


def test_list_shows_only_the_callers_tasks(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    mine = create_task("alice's")
    create_task("bob's", headers=bob, user="bob")
    assert client.get(TASKS, headers=alice).json() == [mine]


@pytest.mark.parametrize(
    ("status", "expected"),
    [("all", ["open", "done"]), ("pending", ["open"]), ("completed", ["done"])],
)
@pytest.mark.parametrize("parameter", ["status", "status_filter"])
def test_list_filters_by_status(
    client: TestClient, alice: Headers, create_task, parameter: str, status: str, expected: list
) -> None:
    create_task("open")
    create_task("done", completed=True)
    response = client.get(TASKS, params={parameter: status}, headers=alice)
    assert response.status_code == 200
    assert [task["title"] for task in response.json()] == expected


def test_list_rejects_unknown_status(client: TestClient, alice: Headers) -> None:
    response = client.get(TASKS, params={"status": "done"}, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]


# --- get one ----------------------------------------------------------------------------------


def test_get_returns_the_task(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task("one")
    response = client.get(f"{TASKS}/{task['id']}", headers=alice)
    assert response.status_code == 200
    assert response.json() == task


@pytest.mark.parametrize("task_id", ["0", "2147483647", "2147483648", "99999999999999999999"])
def test_ids_that_cannot_exist_are_404(client: TestClient, alice: Headers, task_id: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        body = {"json": {"title": "x"}} if method == "PUT" else {}
        response = client.request(method, f"{TASKS}/{task_id}", headers=alice, **body)
        assert response.status_code == 404, (method, response.text)
        assert response.json() == {"detail": "Task not found"}
    assert client.patch(f"{TASKS}/{task_id}/complete", headers=alice).status_code == 404


@pytest.mark.parametrize("task_id", ["abc", "1.5", "1e3", "-1"])
def test_a_task_id_that_is_not_a_whole_number_names_no_task(
    client: TestClient, alice: Headers, task_id: str
) -> None:
    # Task routes match digits only, so `/tasks/stats` with another method is a 405 instead.
    for method in ("GET", "PUT", "DELETE"):
        body = {"json": {"title": "x"}} if method == "PUT" else {}
        response = client.request(method, f"{TASKS}/{task_id}", headers=alice, **body)
        assert response.status_code == 404, (method, response.text)
        assert "detail" in response.json()


# --- update -----------------------------------------------------------------------------------


def test_put_changes_only_the_fields_sent(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task("old title", description="keep me")
    response = client.put(f"{TASKS}/{task['id']}", json={"title": " new title "}, headers=alice)
    assert response.status_code == 200
    updated = response.json()
    assert updated["title"] == "new title"
    assert updated["description"] == "keep me"
    assert updated["completed"] is False
    assert updated["created_at"] == task["created_at"]
    assert parse_timestamp(updated["updated_at"]) > parse_timestamp(task["updated_at"])
    stored = query(client, "SELECT title, description FROM task WHERE id = :id", id=task["id"])
    assert stored == [{"title": "new title", "description": "keep me"}]


def test_put_with_null_title_or_completed_keeps_them(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task("title", description="desc", completed=True)
    body = {"title": None, "completed": None}
    updated = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert (updated["title"], updated["description"], updated["completed"]) == (
        "title",
        "desc",
        True,
    )


def test_put_with_a_null_description_clears_it(
    client: TestClient, alice: Headers, create_task
) -> None:
    # What a Phase II frontend sends when the user empties the description box.
    task = create_task("title", description="desc")
    body = {"title": "title", "description": None}
    updated = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert (updated["title"], updated["description"]) == ("title", None)
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json()["description"] is None
    stored = query(client, "SELECT description FROM task WHERE id = :id", id=task["id"])
    assert stored == [{"description": None}]


def test_put_can_complete_and_describe(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task()
    body = {"completed": True, "description": "done at last"}
    updated = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice).json()
    assert updated["completed"] is True
    assert updated["description"] == "done at last"


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "  "},
        {"title": "x" * 201},
        {"description": "d" * 1001},
        {"completed": "maybe"},
        {"completed": 1},
        {"title": "a\x00b"},
    ],
)
def test_put_rejects_invalid_fields_and_changes_nothing(
    client: TestClient, alice: Headers, create_task, body: dict
) -> None:
    task = create_task("unchanged")
    response = client.put(f"{TASKS}/{task['id']}", json=body, headers=alice)
    assert response.status_code == 422
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json() == task


# --- toggle -----------------------------------------------------------------------------------


def test_toggle_flips_completion_back_and_forth(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task()
    url = f"{TASKS}/{task['id']}/complete"
    first = client.patch(url, headers=alice)
    assert first.status_code == 200
    assert first.json()["completed"] is True
    assert client.patch(url, headers=alice).json()["completed"] is False
    stored = query(client, "SELECT completed FROM task WHERE id = :id", id=task["id"])
    assert stored == [{"completed": False}]


# --- delete -----------------------------------------------------------------------------------


def test_delete_returns_204_and_removes_the_task(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task()
    response = client.delete(f"{TASKS}/{task['id']}", headers=alice)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).status_code == 404
    assert client.delete(f"{TASKS}/{task['id']}", headers=alice).status_code == 404
    assert query(client, "SELECT id FROM task") == []


# --- other users ------------------------------------------------------------------------------

OWN_PATH_REQUESTS = [
    ("GET", "/api/bob/tasks", None),
    ("POST", "/api/bob/tasks", {"title": "sneaky"}),
    ("GET", "/api/bob/tasks/{id}", None),
    ("PUT", "/api/bob/tasks/{id}", {"title": "sneaky"}),
    ("DELETE", "/api/bob/tasks/{id}", None),
    ("PATCH", "/api/bob/tasks/{id}/complete", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OWN_PATH_REQUESTS)
def test_naming_another_user_in_the_path_is_403(
    client: TestClient, alice: Headers, bob: Headers, create_task, method: str, path: str, body
) -> None:
    bobs = create_task("bob's", headers=bob, user="bob")
    response = client.request(method, path.format(id=bobs["id"]), json=body, headers=alice)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Not authorized to access this user's tasks: this token belongs to user 'alice'"
    }
    assert client.get("/api/bob/tasks", headers=bob).json() == [bobs]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"title": "hijacked", "completed": True}),
        ("DELETE", "", None),
        ("PATCH", "/complete", None),
    ],
)
def test_another_users_task_id_is_404_and_untouched(
    client: TestClient, alice: Headers, bob: Headers, create_task, method: str, suffix: str, body
) -> None:
    bobs = create_task("bob's", headers=bob, user="bob")
    url = f"{TASKS}/{bobs['id']}{suffix}"
    response = client.request(method, url, json=body, headers=alice)
    missing = client.request(
        method, f"{TASKS}/{bobs['id'] + 1000}{suffix}", json=body, headers=alice
    )
    # Indistinguishable from a task that does not exist.
    assert (response.status_code, response.json()) == (missing.status_code, missing.json())
    assert response.status_code == 404
    assert client.get("/api/bob/tasks", headers=bob).json() == [bobs]


# --- persistence ------------------------------------------------------------------------------


def test_tasks_survive_an_app_restart(app, settings, alice: Headers) -> None:
    from todo_api.main import create_app

    with TestClient(app) as first:
        task = first.post(TASKS, json={"title": "persist me"}, headers=alice).json()
        first.patch(f"{TASKS}/{task['id']}/complete", headers=alice)
    with TestClient(create_app(settings)) as second:
        tasks = second.get(TASKS, headers=alice).json()
    assert [(t["id"], t["title"], t["completed"]) for t in tasks] == [
        (task["id"], "persist me", True)
    ]


@pytest.mark.parametrize("field", ["title", "tag"])
def test_a_title_or_tag_over_its_length_is_refused_even_if_trimming_would_fit_it(
    client: TestClient, alice: Headers, field: str
) -> None:
    limit = 200 if field == "title" else 50
    text = "a" * limit + " "
    body = {"title": text} if field == "title" else {"title": "t", "tags": [text]}
    assert client.post(TASKS, json=body, headers=alice).status_code == 422
    fits = (
        {"title": " " + "a" * (limit - 1)}
        if field == "title"
        else {"title": "t", "tags": ["a " * 3]}
    )
    assert client.post(TASKS, json=fits, headers=alice).status_code == 201
