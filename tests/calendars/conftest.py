"""CalDAV fixtures: the app served by uvicorn on a free port (CalDAV clients need a URL), REST
calls to it with bearer tokens, and app passwords of the `caldav` scope for the clients."""

from collections.abc import Callable, Iterator
from typing import Any

import caldav
import httpx2 as httpx
import pytest

from tests.conftest import make_token
from tests.mcp.conftest import serving
from todo_api.core.config import Settings
from todo_api.main import create_app

Rest = Callable[[str], httpx.Client]


@pytest.fixture
def base_url(make_settings: Callable[..., Settings]) -> Iterator[str]:
    """The app, served."""
    with serving(create_app(make_settings(max_body_bytes=200_000))) as url:
        yield url


@pytest.fixture
def rest(base_url: str) -> Iterator[Rest]:
    """A REST client of the served app for a user (their bearer token)."""
    clients: list[httpx.Client] = []

    def client(user: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {make_token(user, email=f'{user}@example.com')}"}
        made = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        clients.append(made)
        return made

    yield client
    for made in clients:
        made.close()


def new_password(rest: Rest, user: str, scopes: list[str] | None = None) -> dict[str, Any]:
    """A new app password of the user's (by default, for CalDAV), as the API answers."""
    response = rest(user).post(
        f"/api/{user}/app-passwords", json={"name": "Phone", "scopes": scopes or ["caldav"]}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def dav_client(base_url: str, rest: Rest) -> Callable[[str], caldav.DAVClient]:
    """The `caldav` library's client for a user, given only the host and an app password."""

    def client(user: str) -> caldav.DAVClient:
        password = new_password(rest, user)["password"]
        return caldav.DAVClient(url=base_url, username=user, password=password, timeout=30)

    return client


def auth(user: str, password: str) -> tuple[str, str]:
    """Basic credentials, as httpx takes them."""
    return (user, password)


@pytest.fixture
def dav_http(base_url: str, rest: Rest) -> Iterator[Callable[[str], httpx.Client]]:
    """A plain HTTP client for a user's CalDAV requests, with a new `caldav` app password."""
    clients: list[httpx.Client] = []

    def client(user: str) -> httpx.Client:
        password = new_password(rest, user)["password"]
        made = httpx.Client(base_url=base_url, auth=(user, password), timeout=30)
        clients.append(made)
        return made

    yield client
    for made in clients:
        made.close()


def share(rest: Rest, list_id: int, user: str, role: str, owner: str = "alice") -> None:
    """Make `user` a member of the owner's list with `role`."""
    invitation = rest(owner).post(f"/api/{owner}/lists/{list_id}/invitations", json={"role": role})
    assert invitation.status_code == 201, invitation.text
    accepted = rest(user).post(
        f"/api/{user}/invitations/accept", json={"token": invitation.json()["token"]}
    )
    assert accepted.status_code == 200, accepted.text
