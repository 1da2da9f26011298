"""`/health` and `/ready`: liveness without the database, readiness with it."""

import socket
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.conftest import query
from todo_api.core.config import Settings
from todo_api.core.database import head_revision
from todo_api.main import create_app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unreachable_settings(make_settings: Callable[..., Settings]) -> Settings:
    # Nothing listens there: the pool connects lazily, so the service starts all the same.
    return make_settings(
        database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/gone",
        run_migrations_on_startup=False,
        db_connect_timeout_seconds=2,
    )


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_names_the_schema_revision_when_migrated(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_revision": head_revision()}
    stored = query(client, "SELECT version_num FROM alembic_version")
    assert stored == [{"version_num": head_revision()}]


def test_health_needs_no_database_but_ready_reports_it_unreachable(
    make_settings: Callable[..., Settings],
) -> None:
    with TestClient(create_app(_unreachable_settings(make_settings))) as client:
        assert client.get("/health").json() == {"status": "ok"}
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unreachable"}
    assert response.headers["retry-after"] == "5"


@pytest.mark.empty_database
def test_ready_is_503_on_a_database_never_migrated(
    make_settings: Callable[..., Settings],
) -> None:
    with TestClient(create_app(make_settings(run_migrations_on_startup=False))) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("The database schema is at revision none")
    assert head_revision() in response.json()["detail"]


def test_ready_is_503_when_the_schema_is_at_another_revision(client: TestClient) -> None:
    query(client, "UPDATE alembic_version SET version_num = 'ffffffffffff'")
    response = client.get("/ready")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "ffffffffffff" in detail and head_revision() in detail
    query(client, "UPDATE alembic_version SET version_num = :head", head=head_revision())
    assert client.get("/ready").status_code == 200
