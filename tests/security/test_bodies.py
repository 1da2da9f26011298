"""Hostile bodies: deeply nested JSON on every route, and 422s that never echo a secret."""

import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers

SECRET = "Sup3r-Secret-Passw0rd"
SIGN_UP = "/api/auth/sign-up"
SIGN_IN = "/api/auth/sign-in"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _body_routes(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """Every (method, path, fields) of the schema that takes a body, with real ids filled in."""
    schema = client.app.openapi()
    routes = []
    for template, operations in schema["paths"].items():
        path = template.replace("{user_id}", "alice").replace("{task_id}", "1")
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            ((_, content),) = operation["requestBody"]["content"].items()
            ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
            fields = list(schema["components"]["schemas"][ref]["properties"])
            routes.append((method.upper(), path, fields))
    return routes


@pytest.mark.parametrize("depth", [500, 5_000, 30_000])
def test_deeply_nested_json_is_a_4xx_on_every_route_and_logs_no_secret(
    client: TestClient, alice: Headers, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    client.post("/api/alice/tasks", json={"title": "one"}, headers=alice)
    routes = _body_routes(client)
    assert {(method, path) for method, path, _ in routes} >= {
        ("POST", SIGN_UP),
        ("POST", SIGN_IN),
        ("POST", "/api/alice/tasks"),
        ("PUT", "/api/alice/tasks/1"),
        ("PATCH", "/api/alice/tasks/1"),
        ("POST", "/api/alice/tasks/bulk/complete"),
    }
    with caplog.at_level(logging.DEBUG):
        for method, path, fields in routes:
            bodies = [_nested(depth)] + [
                f'{{"password": "{SECRET}", "{field}": {_nested(depth)}}}' for field in fields
            ]
            for body in bodies:
                content_type = "application/json"
                if path == "/api/auth/token":
                    content_type = "application/x-www-form-urlencoded"
                    body = f"username=a&password={SECRET}&scope={_nested(depth)}"
                response = client.request(
                    method, path, content=body, headers=alice | {"Content-Type": content_type}
                )
                assert 400 <= response.status_code < 500, (method, path, response.text[:200])
                assert SECRET not in response.text
                assert len(response.content) < 20_000
    assert SECRET not in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (SIGN_IN, {"password": SECRET}),  # missing email: the whole body is the input
        (SIGN_UP, {"email": "a@example.com", "password": SECRET}),  # missing name
        (SIGN_UP, {"email": "a@example.com", "password": SECRET * 10, "name": "A"}),  # too long
        (SIGN_UP, {"email": "a@example.com", "password": SECRET + "\x00", "name": "A"}),  # NUL
        (SIGN_IN, {"email": "a@example.com", "password": SECRET + "\x00"}),
        (SIGN_IN, {"email": "a@example.com", "password": SECRET * 10}),
        (SIGN_UP, {"email": "not an email", "password": SECRET, "name": "A"}),
        (SIGN_UP, {"email": "a@example.com", "password": [SECRET], "name": "A"}),
        (SIGN_UP, {"email": "a@example.com", "password": {"p": SECRET}, "name": "A"}),
        (SIGN_UP, {"email": "a@example.com", "name": {"password": SECRET}}),
    ],
)
def test_a_422_never_echoes_a_password(client: TestClient, path: str, body: dict) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert SECRET not in response.text
    assert SECRET.encode().hex() not in response.text


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_a_body_sent_without_a_json_content_type_echoes_no_password(
    client: TestClient, content_type: str | None
) -> None:
    body = f'{{"email": "a@example.com", "password": "{SECRET}", "name": "A"}}'
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(SIGN_UP, content=body, headers=headers)
    assert response.status_code == 422
    assert SECRET not in response.text


def test_a_422_still_echoes_ordinary_input(client: TestClient, alice: Headers) -> None:
    response = client.post("/api/alice/tasks", json={"title": "x" * 300}, headers=alice)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "title"]
    assert error["input"] == "x" * 300


def test_a_weak_password_refusal_echoes_nothing_of_it(client: TestClient) -> None:
    body = {"email": "a@example.com", "password": "password123", "name": "A"}
    response = client.post(SIGN_UP, json=body)
    assert response.status_code == 422
    assert "password123" not in response.text


def test_the_token_form_never_echoes_a_password(client: TestClient) -> None:
    response = client.post("/api/auth/token", data={"password": SECRET})
    assert response.status_code == 422
    assert SECRET not in response.text
