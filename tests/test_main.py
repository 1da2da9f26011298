"""The application shell: root message, error shapes, CORS."""

import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app
from todo_api.tasks import reading as task_service


def test_root_says_the_api_is_running(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "Todo API is running"}


def test_unknown_path_is_404_with_detail(client: TestClient) -> None:
    response = client.get("/api/alice/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_unsupported_method_is_405_with_detail(client: TestClient, alice: Headers) -> None:
    response = client.post("/api/alice/tasks/1", headers=alice)
    assert response.status_code == 405
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/api/alice/tasks/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("OPTIONS", "/api/alice/tasks", "GET, HEAD, POST"),
        ("DELETE", "/api/alice/tasks/1/complete", "PATCH"),
        ("PUT", "/api/alice/tasks/stats", "GET, HEAD"),
        ("GET", "/api/alice/tasks/bulk/complete", "POST"),
        ("HEAD", "/api/auth/sign-in", "POST"),
        ("POST", "/", "GET, HEAD, PROPFIND"),  # CalDAV clients PROPFIND the host
        ("POST", "/docs", "GET, HEAD"),
        ("DELETE", "/static/docs/swagger-ui.css", "GET, HEAD"),
    ],
)
def test_405_allow_header_lists_every_method_of_the_path(
    client: TestClient, alice: Headers, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path, headers=alice)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed


PATHS = [
    "/",
    "/health",
    "/ready",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/static/docs/swagger-ui.css",
    "/api/auth/me",
    "/api/auth/sign-in",
    "/api/alice/tasks",
    "/api/alice/tasks/{id}",
    "/api/alice/tasks/{id}/complete",
    "/api/alice/tasks/stats",
    "/api/alice/tags",
]


@pytest.mark.parametrize("path", [p for p in PATHS if p != "/api/auth/sign-in"])
def test_head_is_served_wherever_get_is(
    client: TestClient, alice: Headers, create_task, path: str
) -> None:
    path = path.format(id=create_task()["id"])
    got = client.get(path, headers=alice)
    head = client.head(path, headers=alice)
    assert head.status_code == got.status_code
    assert got.status_code == 200 if "complete" not in path else 405
    assert head.content == b""
    assert head.headers.get("content-length") == got.headers.get("content-length")
    assert head.headers.get("content-type") == got.headers.get("content-type")


@pytest.mark.parametrize("path", PATHS)
def test_every_405_allow_header_is_true(
    client: TestClient, alice: Headers, create_task, path: str
) -> None:
    path = path.format(id=create_task()["id"])
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "PROPFIND"]
    answers = {method: client.request(method, path, headers=alice) for method in methods}
    refused = {method for method, response in answers.items() if response.status_code == 405}
    assert refused, "every path here refuses some method"
    allowed = {answers[method].headers["Allow"] for method in refused}
    assert len(allowed) == 1  # the same on every 405 of the path
    assert set(allowed.pop().split(", ")) == set(methods) - refused


def test_unexpected_failure_is_a_generic_500_and_a_logged_traceback(
    app, alice: Headers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_listing(*_args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(task_service, "list_tasks", broken_listing)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="todo_api"),
    ):
        response = client.get("/api/alice/tasks", headers=alice | {"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "secret internals" not in response.text
    assert "RuntimeError: secret internals" in caplog.text
    assert "request id boom-1" in caplog.text
    assert "Traceback" in caplog.text


def test_cors_preflight_allows_the_configured_origin(client: TestClient) -> None:
    response = client.options(
        "/api/alice/tasks",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_cors_refuses_other_origins(client: TestClient) -> None:
    response = client.options(
        "/api/alice/tasks",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cors_origins_come_from_settings(make_settings) -> None:
    from todo_api.main import create_app

    app = create_app(make_settings(cors_origins="https://app.example, https://admin.example"))
    with TestClient(app) as client:
        response = client.get("/", headers={"Origin": "https://admin.example"})
    assert response.headers["access-control-allow-origin"] == "https://admin.example"


def test_openapi_declares_bearer_auth_and_task_routes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {
        "/api/{user_id}/tasks",
        "/api/{user_id}/tasks/{task_id}",
        "/api/{user_id}/tasks/{task_id}/complete",
    } <= set(schema["paths"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"title": NaN}', "application/json"),
        (b'{"ids": [Infinity], "email": -Infinity}', "application/json"),
        (b'{"title": "\\ud800", "email": "a\\udc00@example.com"}', "application/json"),
        (b'{"title": "x", "description": "\\ud83d", "password": "\\ud83d"}', "application/json"),
        (b"\xff\xfe not text", "text/plain"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/alice/tasks", "/api/alice/tasks/bulk/complete", "/api/auth/sign-in"]
)
def test_bodies_utf8_json_cannot_echo_back_are_a_422_not_a_500(
    client: TestClient, alice: Headers, path: str, body: bytes, content_type: str
) -> None:
    response = client.post(path, content=body, headers=alice | {"Content-Type": content_type})
    assert response.status_code == 422
    assert response.json()["detail"]
    assert query(client, "SELECT id FROM task") == []


def _layers(app: FastAPI) -> list[str]:
    """The names of the layers a request passes through before the router, outermost first."""
    names = []
    layer = app.build_middleware_stack()
    while layer is not app.router:
        names.append(type(layer).__name__)
        layer = layer.app  # type: ignore[attr-defined]
    return names


def test_a_request_passes_no_layer_with_nothing_to_do(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(rate_limit_enabled=False, opentelemetry=False))
    assert _layers(app) == [
        "ServerErrorMiddleware",
        "RequestContextMiddleware",
        "BodySizeLimitMiddleware",
        "HeadMiddleware",
        "ExceptionMiddleware",
        "AsyncExitStackMiddleware",
    ]


def test_with_opentelemetry_on_fastapi_reports_unhandled_errors(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(rate_limit_enabled=False, opentelemetry=True))
    assert "ExceptionTelemetryMiddleware" in _layers(app)
