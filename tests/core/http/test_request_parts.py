"""Task bodies read by their routes: the models, errors and schema of FastAPI's body parameters."""

from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tests.conftest import Headers, query
from todo_api.core.http.request_parts import HeaderValue, openapi_extra, read_json
from todo_api.core.http.validation import invalid_request as _invalid_request
from todo_api.tasks.schemas import TaskCreate, TaskPatch, TaskUpdate

JSON = {"Content-Type": "application/json"}
BODIES: list[tuple[bytes, Headers]] = [
    (b'{"title": "ok"}', JSON),
    (b'{"title": "ok"}', {"Content-Type": "Application/JSON; charset=utf-8"}),
    (b'{"title": "ok"}', {"Content-Type": "application/merge-patch+json"}),
    (b'{"title": "ok"}', {}),
    (b'{"title": "ok"}', {"Content-Type": "text/plain"}),
    (b'{"title": "ok"}', {"Content-Type": "application/jsonx"}),
    (b"", JSON),
    (b'{"title": "oops"', JSON),
    (b'{"title": "x"} and more', JSON),
    (b'{"title": "\xff\xfe"}', JSON),
    (b'\xef\xbb\xbf{"title": "with a BOM"}', JSON),
    ('{"title": "in UTF-16"}'.encode("utf-16"), JSON),
    (b"[]", JSON),
    (b"null", JSON),
    (b'{"title": 5}', JSON),
    (b'{"title": "a", "title": "b"}', JSON),
    (b'{"title": NaN}', JSON),
    (b'{"title": "\\ud800"}', JSON),
    (b'{"title": "tab\there"}', JSON),
    (b'{"title": "   "}', JSON),
    (b"{}", JSON),
    (b'{"title": null, "description": null}', JSON),
    (b'{"title": "x", "completed": 1}', JSON),
    (b'{"title": "x", "due_date": 20260101}', JSON),
    (b'{"title": "x", "due_date": "2026-02-30"}', JSON),
    (b'{"title": "x", "due_date": "2026-01-02", "due_at": "2026-03-04T05:06:07Z"}', JSON),
    (b'{"title": "x", "priority": "urgent", "tags": ["a", " "]}', JSON),
    (
        b'{"title": "x", "recurrence": "weekly", "due_date": "2026-01-31",'
        b' "recurrence_interval": 2}',
        JSON,
    ),
    (
        b'{"title": "x", "completed": true, "priority": "high", "tags": ["A", "a", "b"],'
        b' "due_at": "2026-03-04T05:06:07+02:00", "description": "d \\ud83d\\ude00"}',
        JSON,
    ),
    (b'{"title": "x", "unknown": 1}', JSON),
]


def _compared_app(model: type[BaseModel]) -> TestClient:
    """One route with `model` as FastAPI's body parameter, one reading it with read_json."""
    app = FastAPI()
    app.add_exception_handler(RequestValidationError, _invalid_request)

    def echo(data: BaseModel) -> dict[str, Any]:
        # What the route gets: the values, and which fields were sent (PATCH depends on it).
        return {"data": data.model_dump(mode="json"), "sent": sorted(data.model_fields_set)}

    async def by_fastapi(data: model) -> dict[str, Any]:  # type: ignore[valid-type]
        return echo(data)

    async def by_read_json(request: Request) -> dict[str, Any]:
        return echo(await read_json(request, model))

    app.post("/fastapi")(by_fastapi)
    app.post("/read_json")(by_read_json)
    return TestClient(app)


@pytest.mark.parametrize("model", [TaskCreate, TaskUpdate, TaskPatch])
def test_read_json_gives_what_a_fastapi_body_parameter_gives(model: type[BaseModel]) -> None:
    client = _compared_app(model)
    for body, headers in BODIES:
        theirs = client.post("/fastapi", content=body, headers=headers)
        ours = client.post("/read_json", content=body, headers=headers)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), body


@pytest.mark.parametrize(
    ("method", "path", "model"),
    [
        ("post", "/api/{user_id}/tasks", "TaskCreate"),
        ("put", "/api/{user_id}/tasks/{task_id}", "TaskUpdate"),
        ("patch", "/api/{user_id}/tasks/{task_id}", "TaskPatch"),
    ],
)
def test_task_bodies_are_in_the_schema_as_body_parameters_are(
    client: TestClient, method: str, path: str, model: str
) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["paths"][path][method]["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
        "required": True,
    }
    component = schema["components"]["schemas"][model]
    assert component["type"] == "object" and "title" in component["properties"]
    assert "Priority" in schema["components"]["schemas"]


def test_a_body_is_not_read_before_the_token_is_checked(client: TestClient) -> None:
    response = client.post("/api/alice/tasks", content=b'{"title": ', headers=JSON)
    assert response.status_code == 401
    assert query(client, "SELECT id FROM task") == []


def test_a_body_for_another_user_is_refused_before_it_is_read(
    client: TestClient, alice: Headers
) -> None:
    response = client.post("/api/bob/tasks", content=b"not json", headers=alice | JSON)
    assert response.status_code == 403


HEADER_VALUES: list[Headers] = [
    {},
    {"If-Match": ""},
    {"If-Match": "*"},
    {"If-Match": '"1-abc", W/"2-def"'},
    {"If-Match": "x" * 1000},
    {"If-Match": "x" * 1001},
    {"If-Match": "  padded  "},
]


def test_a_header_value_reads_what_a_fastapi_header_parameter_reads() -> None:
    declared = HeaderValue.like_fastapi("If-Match", max_length=1000, description="d")
    app = FastAPI()
    app.add_exception_handler(RequestValidationError, _invalid_request)

    async def by_fastapi(
        if_match: Annotated[str | None, Header(max_length=1000, description="d")] = None,
    ) -> dict[str, Any]:
        return {"value": if_match}

    async def by_header_value(request: Request) -> dict[str, Any]:
        return {"value": declared.read(request)}

    app.get("/fastapi")(by_fastapi)
    app.get("/header_value", openapi_extra=openapi_extra(declared))(by_header_value)
    client = TestClient(app)
    for headers in HEADER_VALUES:
        theirs = client.get("/fastapi", headers=headers)
        ours = client.get("/header_value", headers=headers)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), headers
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/header_value"]["get"]["parameters"] == paths["/fastapi"]["get"]["parameters"]
