"""The middleware every request goes through: request ids, access log, headers, body size."""

import logging
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app

# --- request ids and the access log ---------------------------------------------------------


def test_a_request_id_is_generated_and_echoed(client: TestClient) -> None:
    first = client.get("/").headers["x-request-id"]
    second = client.get("/").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", first)
    assert first != second


def test_a_sane_client_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/", headers={"X-Request-ID": "web-4f1c.9:retry=2"})
    assert response.headers["x-request-id"] == "web-4f1c.9:retry=2"


def test_of_two_client_request_ids_the_first_is_kept(client: TestClient) -> None:
    response = client.get("/", headers=[("X-Request-ID", "first-1"), ("X-Request-ID", "second-2")])
    assert response.headers["x-request-id"] == "first-1"


@pytest.mark.parametrize(
    "unsafe",
    ["x" * 129, "has space", 'quote"d', "new\tline", "<script>", "ümlaut"],
)
def test_an_unsafe_client_request_id_is_replaced(client: TestClient, unsafe: str) -> None:
    response = client.get("/", headers={"X-Request-ID": unsafe.encode()})
    assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", response.headers["x-request-id"])


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="todo_api.access"):
        yield caplog


def test_each_request_is_logged_once_with_its_id_status_and_duration(
    client: TestClient, alice: Headers, access_log: pytest.LogCaptureFixture
) -> None:
    access_log.clear()
    response = client.get(
        "/api/alice/tasks", params={"status": "pending"}, headers=alice | {"X-Request-ID": "r-1"}
    )
    assert response.status_code == 200
    records = [r for r in access_log.records if r.name == "todo_api.access"]
    assert len(records) == 1
    record = records[0]
    assert (record.method, record.path, record.status, record.request_id) == (
        "GET",
        "/api/alice/tasks",
        200,
        "r-1",
    )
    assert record.duration_ms >= 0
    assert record.getMessage().startswith("GET /api/alice/tasks 200 ")
    assert "id=r-1" in record.getMessage()


def test_the_log_holds_no_token_query_string_or_task_content(
    client: TestClient, alice: Headers, access_log: pytest.LogCaptureFixture
) -> None:
    token = alice["Authorization"].removeprefix("Bearer ")
    client.post(
        "/api/alice/tasks?api_key=hunter2",
        json={"title": "my diary entry", "description": "very private"},
        headers=alice,
    )
    client.get("/api/alice/tasks", headers={"Authorization": "Bearer not.a.token"})
    logged = access_log.text + "".join(str(r.__dict__) for r in access_log.records)
    assert "POST /api/alice/tasks 201" in access_log.text
    assert "GET /api/alice/tasks 401" in access_log.text
    for secret in (token, "not.a.token", "hunter2", "api_key", "my diary entry", "very private"):
        assert secret not in logged


# --- security headers -----------------------------------------------------------------------


def test_api_responses_carry_strict_security_headers(client: TestClient, alice: Headers) -> None:
    for response in (
        client.get("/"),
        client.get("/api/alice/tasks", headers=alice),
        client.get("/api/alice/tasks"),  # errors too
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_docs_pages_get_a_policy_that_lets_them_run_from_self_only(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        policy = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "http" not in policy and "*" not in policy


# --- CORS -----------------------------------------------------------------------------------


def test_cors_echoes_an_allowed_origin_exactly_with_credentials(
    client: TestClient, alice: Headers
) -> None:
    response = client.get("/api/alice/tasks", headers=alice | {"Origin": "http://localhost:3000"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_responses_vary_on_origin_with_or_without_one(client: TestClient, alice: Headers) -> None:
    plain = client.get("/api/alice/tasks", headers=alice)
    assert plain.headers.get_list("vary") == ["Origin"]
    assert not any(name.startswith("access-control-") for name in plain.headers)
    cors = client.get("/api/alice/tasks", headers=alice | {"Origin": "http://localhost:3000"})
    assert cors.headers.get_list("vary") == ["Origin"]
    # Shared caches must not hand one answer to the other, nor a 404 or 401 either.
    for response in (client.get("/nowhere"), client.get("/api/alice/tasks")):
        assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost:3000.evil.example", "http://localhost:3001", "null"],
)
def test_cors_gives_other_origins_no_allow_origin_header(
    client: TestClient, alice: Headers, origin: str
) -> None:
    response = client.get("/api/alice/tasks", headers=alice | {"Origin": origin})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/alice/tasks",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("origins", ["*", "https://*.example", "https://app.example/"])
def test_wildcard_or_malformed_cors_origins_are_refused(
    make_settings: Callable[..., Settings], origins: str
) -> None:
    with pytest.raises(ValueError, match="exact origin"):
        make_settings(cors_origins=origins)


# --- body size ------------------------------------------------------------------------------


@pytest.fixture
def small_body_client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(max_body_bytes=2048))) as client:
        yield client


def _task_body(size: int) -> bytes:
    body = b'{"title": "big", "description": "' + b"x" * size + b'"}'
    return body


def test_a_declared_body_over_the_limit_is_413_and_nothing_is_stored(
    small_body_client: TestClient, alice: Headers
) -> None:
    response = small_body_client.post(
        "/api/alice/tasks",
        content=_task_body(3000),
        headers=alice | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: at most 2048 bytes"}
    assert query(small_body_client, "SELECT id FROM task") == []


def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(
    small_body_client: TestClient, alice: Headers
) -> None:
    def chunks() -> Iterator[bytes]:
        body = _task_body(3000)
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    response = small_body_client.post(
        "/api/alice/tasks", content=chunks(), headers=alice | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: at most 2048 bytes"}
    assert query(small_body_client, "SELECT id FROM task") == []


def test_bodies_within_the_limit_pass_chunked_or_not(
    small_body_client: TestClient, alice: Headers
) -> None:
    body = b'{"title": "fits", "description": "' + b"y" * 900 + b'"}'
    headers = alice | {"Content-Type": "application/json"}
    plain = small_body_client.post("/api/alice/tasks", content=body, headers=headers)
    chunked = small_body_client.post(
        "/api/alice/tasks", content=iter([body[:500], body[500:]]), headers=headers
    )
    assert (plain.status_code, chunked.status_code) == (201, 201)
    stored = query(small_body_client, "SELECT description FROM task ORDER BY id")
    assert stored == [{"description": "y" * 900}] * 2


def test_the_default_body_limit_is_64_kib(client: TestClient, alice: Headers) -> None:
    response = client.put(
        "/api/alice/tasks/1",
        content=b"{" + b" " * (64 * 1024) + b"}",
        headers=alice | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413
