"""Paths with a trailing slash are served as the path without it: no 307, no second preflight."""

from fastapi.testclient import TestClient

from tests.conftest import Headers


def test_a_trailing_slash_is_served_directly(client: TestClient, alice: Headers) -> None:
    created = client.post(
        "/api/alice/tasks/", json={"title": "slash"}, headers=alice, follow_redirects=False
    )
    assert created.status_code == 201
    task_id = created.json()["id"]
    listed = client.get("/api/alice/tasks/", headers=alice, follow_redirects=False)
    assert listed.status_code == 200
    assert [task["id"] for task in listed.json()] == [task_id]
    one = client.get(f"/api/alice/tasks/{task_id}/", headers=alice, follow_redirects=False)
    assert one.status_code == 200 and one.json()["title"] == "slash"
    toggled = client.patch(
        f"/api/alice/tasks/{task_id}/complete/", headers=alice, follow_redirects=False
    )
    assert toggled.status_code == 200 and toggled.json()["completed"] is True


def test_a_trailing_slash_preflight_is_answered_like_the_path(client: TestClient) -> None:
    preflight = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = client.options("/api/alice/tasks/", headers=preflight, follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_the_root_and_unknown_paths_are_unchanged(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get("/nowhere/", follow_redirects=False).status_code == 404
    assert client.get("/api/alice/tasks//", follow_redirects=False).status_code in {401, 404}
