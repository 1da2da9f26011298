"""HTTP Basic with an app password: the username is the user's id or email, the password works
only for its scopes on the task API (`read`: reading, `read` + `write`: everything), and a
revoked one stops at once."""

import base64
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.accounts.app_passwords.helpers import basic, make_password
from tests.conftest import Headers, query
from todo_api.accounts import authenticate_basic
from todo_api.core.clock import utcnow
from todo_api.core.errors import BASIC_CHALLENGE, ApiError
from todo_api.core.state import app_state

TASKS = "/api/alice/tasks"


def _refused(response: Any, status: int = 401) -> None:
    assert response.status_code == status, response.text


def test_read_password_reads_with_the_user_id(
    client: TestClient, alice: Headers, create_task
) -> None:
    task = create_task("Water plants")
    password = make_password(client, alice, ["read"])["password"]
    response = client.get(TASKS, headers=basic("alice", password))
    assert response.status_code == 200, response.text
    assert [t["id"] for t in response.json()] == [task["id"]]
    one = client.get(f"{TASKS}/{task['id']}", headers=basic("alice", password))
    assert one.status_code == 200
    assert client.head(TASKS, headers=basic("alice", password)).status_code == 200
    assert client.get(f"{TASKS}/stats", headers=basic("alice", password)).status_code == 200


def test_basic_works_with_the_email_in_any_case(
    client: TestClient, alice: Headers, create_task
) -> None:
    create_task()
    password = make_password(client, alice, ["read"])["password"]
    for username in ("alice@example.com", "Alice@Example.COM"):
        response = client.get(TASKS, headers=basic(username, password))
        assert response.status_code == 200, (username, response.text)


def test_a_password_typed_with_capitals_and_without_dashes_works(
    client: TestClient, alice: Headers
) -> None:
    password = make_password(client, alice, ["read"])["password"]
    typed = password.replace("-", "").upper()
    assert client.get(TASKS, headers=basic("alice", typed)).status_code == 200


def test_an_own_accounts_address_is_a_username(client: TestClient) -> None:
    signed = client.post(
        "/api/auth/sign-up",
        json={"email": "dora@example.com", "password": "a long enough passphrase", "name": "D"},
    ).json()
    user_id = signed["user"]["id"]
    owner = {"Authorization": f"Bearer {signed['access_token']}"}
    password = make_password(client, owner, ["read"], user=user_id)["password"]
    response = client.get(f"/api/{user_id}/tasks", headers=basic("dora@example.com", password))
    assert response.status_code == 200, response.text


def test_a_read_password_cannot_write(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task()
    auth = basic("alice", make_password(client, alice, ["read"])["password"])
    writes = [
        client.post(TASKS, json={"title": "x"}, headers=auth),
        client.put(f"{TASKS}/{task['id']}", json={"title": "y"}, headers=auth),
        client.patch(f"{TASKS}/{task['id']}", json={"title": "y"}, headers=auth),
        client.patch(f"{TASKS}/{task['id']}/complete", headers=auth),
        client.delete(f"{TASKS}/{task['id']}", headers=auth),
    ]
    for response in writes:
        assert response.status_code == 403, response.text
        assert "read-only" in response.json()["detail"]
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json()["title"] == task["title"]


def test_a_read_write_password_writes(client: TestClient, alice: Headers) -> None:
    auth = basic("alice", make_password(client, alice, ["read", "write"])["password"])
    created = client.post(TASKS, json={"title": "From a script"}, headers=auth)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    assert client.patch(f"{TASKS}/{task_id}/complete", headers=auth).json()["completed"]
    assert client.delete(f"{TASKS}/{task_id}", headers=auth).status_code == 204
    assert client.get(f"{TASKS}/{task_id}", headers=alice).status_code == 404


@pytest.mark.parametrize("scopes", [["caldav"], ["feed"]])
def test_other_purposes_are_refused_on_rest(
    client: TestClient, alice: Headers, scopes: list[str]
) -> None:
    password = make_password(client, alice, scopes)["password"]
    response = client.get(TASKS, headers=basic("alice", password))
    _refused(response)
    assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    assert password not in response.text
    assert "not valid" in response.json()["detail"]


def test_a_revoked_password_is_refused_at_once(client: TestClient, alice: Headers) -> None:
    created = make_password(client, alice, ["read"])
    auth = basic("alice", created["password"])
    assert client.get(TASKS, headers=auth).status_code == 200
    client.delete(f"/api/alice/app-passwords/{created['id']}", headers=alice)
    response = client.get(TASKS, headers=auth)
    _refused(response)
    assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE


def test_a_password_only_works_with_its_own_users_name(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    alices = make_password(client, alice, ["read"])["password"]
    make_password(client, bob, ["read"], user="bob")
    # Alice's password with Bob's name, on either path: refused, as if wrong.
    _refused(client.get("/api/bob/tasks", headers=basic("bob", alices)))
    _refused(client.get(TASKS, headers=basic("bob", alices)))
    _refused(client.get(TASKS, headers=basic("alice@example.org", alices)))


def test_the_right_password_on_another_users_path_is_forbidden(
    client: TestClient, alice: Headers
) -> None:
    auth = basic("alice", make_password(client, alice, ["read"])["password"])
    response = client.get("/api/bob/tasks", headers=auth)
    assert response.status_code == 403


def test_malformed_basic_headers_are_refused(client: TestClient, alice: Headers) -> None:
    password = make_password(client, alice, ["read"])["password"]
    for value in (
        "Basic",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Basic " + base64.b64encode(b":" + password.encode()).decode(),
        "Basic " + base64.b64encode(b"alice:").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(f"alice\x00:{password}".encode()).decode(),
    ):
        response = client.get(TASKS, headers={"Authorization": value})
        assert response.status_code == 401, (value, response.text)
        assert password not in response.text


def test_a_wrong_password_never_comes_back_in_the_answer(client: TestClient) -> None:
    response = client.get(TASKS, headers=basic("alice", "guess-guess-guess"))
    _refused(response)
    assert "guess" not in response.text
    assert response.headers["WWW-Authenticate"] == 'Basic realm="todo-api", charset="UTF-8"'


def test_bearer_still_works_and_asks_for_bearer(client: TestClient, alice: Headers) -> None:
    assert client.get(TASKS, headers=alice).status_code == 200
    response = client.get(TASKS)
    _refused(response)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_last_use_is_recorded_at_most_once_a_minute(client: TestClient, alice: Headers) -> None:
    created = make_password(client, alice, ["read"])
    auth = basic("alice", created["password"])
    client.get(TASKS, headers=auth)
    first = query(client, "SELECT last_used_at FROM app_password")[0]["last_used_at"]
    assert first is not None
    client.get(TASKS, headers=auth)
    assert query(client, "SELECT last_used_at FROM app_password")[0]["last_used_at"] == first
    listed = client.get("/api/alice/app-passwords", headers=alice).json()[0]
    assert listed["last_used_at"] is not None
    # Two minutes later, the next use is recorded.
    query(client, "UPDATE app_password SET last_used_at = :at", at=utcnow() - timedelta(minutes=2))
    stale = query(client, "SELECT last_used_at FROM app_password")[0]["last_used_at"]
    client.get(TASKS, headers=auth)
    assert query(client, "SELECT last_used_at FROM app_password")[0]["last_used_at"] != stale


def _authenticate(client: TestClient, header: str | None, scope: str) -> object:
    state = app_state(client.app)
    try:
        return client.portal.call(authenticate_basic, state, header, scope)
    except ApiError as error:
        return error


def test_authenticate_basic_checks_the_scope(client: TestClient, alice: Headers) -> None:
    password = make_password(client, alice, ["caldav"])["password"]
    header = basic("alice@example.com", password)["Authorization"]
    principal = _authenticate(client, header, "caldav")
    assert getattr(principal, "user_id", None) == "alice"
    refused = _authenticate(client, header, "read")
    assert isinstance(refused, ApiError) and refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    missing = _authenticate(client, None, "caldav")
    assert isinstance(missing, ApiError) and missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == BASIC_CHALLENGE


def test_long_or_odd_usernames_are_a_plain_401(client: TestClient, alice: Headers) -> None:
    password = make_password(client, alice, ["read"])["password"]
    for username in ("u" * 999, "ä-user", "alice\x01"):
        response = client.get(TASKS, headers=basic(username, password))
        assert response.status_code == 401, (username, response.text)
    response = client.get(TASKS, headers=basic("u" * 1001, password))
    assert response.status_code == 401
