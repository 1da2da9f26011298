"""Making app passwords through the API, and HTTP Basic headers with them."""

import base64
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Headers


def make_password(
    client: TestClient, owner: Headers, scopes: list[str], user: str = "alice", name: str = "App"
) -> dict[str, Any]:
    """A new app password of `user`'s (made with their bearer token), as the API answers."""
    response = client.post(
        f"/api/{user}/app-passwords", json={"name": name, "scopes": scopes}, headers=owner
    )
    assert response.status_code == 201, response.text
    return response.json()


def basic(username: str, password: str) -> Headers:
    """An `Authorization: Basic` header."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}
