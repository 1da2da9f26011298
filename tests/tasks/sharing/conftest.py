"""A list of alice's shared with bob (editor) and carol (viewer); dave is in nothing."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, bearer, make_token


@pytest.fixture
def carol() -> Headers:
    return bearer(make_token("carol"))


@pytest.fixture
def dave() -> Headers:
    return bearer(make_token("dave"))


def headers_of(user: str) -> Headers:
    return bearer(make_token(user))


def invite(client: TestClient, list_id: int, role: str, owner: str = "alice", **fields: Any):
    """A new invitation to the owner's list (its JSON, token included)."""
    response = client.post(
        f"/api/{owner}/lists/{list_id}/invitations",
        json={"role": role, **fields},
        headers=headers_of(owner),
    )
    assert response.status_code == 201, response.text
    return response.json()


def accept(client: TestClient, user: str, token: str):
    """The user's answer to accepting the invitation with this token."""
    return client.post(
        f"/api/{user}/invitations/accept", json={"token": token}, headers=headers_of(user)
    )


@pytest.fixture
def home(client: TestClient, alice: Headers, bob: Headers, carol: Headers) -> dict:
    """alice's list "Home", bob an editor of it and carol a viewer, with one task."""
    made = client.post("/api/alice/lists", json={"name": "Home"}, headers=alice).json()
    for user, role in (("bob", "editor"), ("carol", "viewer")):
        joined = accept(client, user, invite(client, made["id"], role)["token"])
        assert joined.status_code == 200, joined.text
    task = client.post(
        "/api/alice/tasks", json={"title": "Fix the sink", "list_id": made["id"]}, headers=alice
    ).json()
    return {"list": made, "task": task}


@pytest.fixture
def changes_of(client: TestClient) -> Callable[[str, Headers], list[dict]]:
    def read(user: str, headers: Headers, since: str | None = None) -> list[dict]:
        params: dict[str, Any] = {"limit": 1000}
        if since is not None:
            params["since"] = since
        response = client.get(f"/api/{user}/changes", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["changes"]

    return read
