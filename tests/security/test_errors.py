"""A failure the service did not expect still answers like every other response."""

import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers
from todo_api.tasks import reading as task_service


def test_a_500_carries_the_request_id_and_the_security_headers(
    app, alice: Headers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_listing(*_args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(task_service, "list_tasks", broken_listing)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR),
    ):
        response = client.get("/api/alice/tasks", headers=alice | {"X-Request-ID": "boom-2"})
        healthy = client.get("/api/auth/me", headers=alice)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["x-request-id"] == "boom-2"
    for name in ("x-content-type-options", "x-frame-options", "content-security-policy"):
        assert response.headers[name] == healthy.headers[name]
    assert response.headers["cache-control"] == "no-store"
    # Logged once, with the traceback, not once more by the server.
    assert caplog.text.count("RuntimeError: secret internals") == 1
    assert "request id boom-2" in caplog.text
