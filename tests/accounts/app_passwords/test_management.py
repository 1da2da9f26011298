"""Making, listing and revoking app passwords: bearer tokens only, the secret shown once and
stored as a digest, scopes one purpose each, a cap per user."""

import hashlib
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.accounts.app_passwords.helpers import basic, make_password
from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app

PASSWORDS = "/api/alice/app-passwords"


def test_create_answers_the_password_once(client: TestClient, alice: Headers) -> None:
    created = make_password(client, alice, ["read", "write"], name="Script")
    assert set(created) == {"id", "name", "scopes", "password", "created_at"}
    assert created["name"] == "Script"
    assert created["scopes"] == ["read", "write"]
    assert len(created["password"]) >= 30
    listed = client.get(PASSWORDS, headers=alice).json()
    assert listed == [
        {
            "id": created["id"],
            "name": "Script",
            "scopes": ["read", "write"],
            "created_at": created["created_at"],
            "last_used_at": None,
        }
    ]
    assert created["password"] not in client.get(PASSWORDS, headers=alice).text


def test_scopes_are_order_insensitive(client: TestClient, alice: Headers) -> None:
    assert make_password(client, alice, ["write", "read"])["scopes"] == ["read", "write"]


def test_each_password_is_new(client: TestClient, alice: Headers) -> None:
    first = make_password(client, alice, ["caldav"])["password"]
    second = make_password(client, alice, ["caldav"])["password"]
    assert first != second


def test_the_database_keeps_a_digest_not_the_password(client: TestClient, alice: Headers) -> None:
    created = make_password(client, alice, ["caldav"])
    rows = query(client, "SELECT * FROM app_password")
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert created["password"] not in stored
    assert created["password"].replace("-", "") not in stored
    typed = created["password"].replace("-", "")
    assert rows[0]["digest"] == hashlib.sha256(typed.encode()).hexdigest()


def test_bad_scopes_are_refused_with_a_reason(client: TestClient, alice: Headers) -> None:
    for scopes in (
        [],
        ["write"],
        ["caldav", "read"],
        ["read", "read"],
        ["feed", "write"],
        ["admin"],
        "read",
        ["read", "write", "caldav"],
    ):
        response = client.post(PASSWORDS, json={"name": "x", "scopes": scopes}, headers=alice)
        assert response.status_code == 422, (scopes, response.text)
        assert response.json()["detail"][0]["loc"][:2] == ["body", "scopes"]


def test_bad_names_are_refused(client: TestClient, alice: Headers) -> None:
    for name in ("", "   ", "x" * 101, "a\x00b"):
        response = client.post(PASSWORDS, json={"name": name, "scopes": ["read"]}, headers=alice)
        assert response.status_code == 422, (name, response.text)


def test_revoke_removes_it(client: TestClient, alice: Headers) -> None:
    created = make_password(client, alice, ["read"])
    response = client.delete(f"{PASSWORDS}/{created['id']}", headers=alice)
    assert response.status_code == 204
    assert client.get(PASSWORDS, headers=alice).json() == []
    assert client.delete(f"{PASSWORDS}/{created['id']}", headers=alice).status_code == 404


def test_another_users_password_is_not_found(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    created = make_password(client, alice, ["read"])
    response = client.delete(f"/api/bob/app-passwords/{created['id']}", headers=bob)
    assert response.status_code == 404
    assert client.get("/api/bob/app-passwords", headers=bob).json() == []
    assert len(client.get(PASSWORDS, headers=alice).json()) == 1


def test_another_users_path_is_forbidden(client: TestClient, bob: Headers) -> None:
    assert client.get(PASSWORDS, headers=bob).status_code == 403
    response = client.post(PASSWORDS, json={"name": "x", "scopes": ["read"]}, headers=bob)
    assert response.status_code == 403


def test_out_of_range_ids_are_refused(client: TestClient, alice: Headers) -> None:
    for bad in ("0", "2147483648", "abc"):
        assert client.delete(f"{PASSWORDS}/{bad}", headers=alice).status_code == 422


def test_an_app_password_cannot_manage_app_passwords(client: TestClient, alice: Headers) -> None:
    full = make_password(client, alice, ["read", "write"])
    auth = basic("alice", full["password"])
    assert client.get(PASSWORDS, headers=auth).status_code == 401
    response = client.post(PASSWORDS, json={"name": "x", "scopes": ["read"]}, headers=auth)
    assert response.status_code == 401
    assert client.delete(f"{PASSWORDS}/{full['id']}", headers=auth).status_code == 401
    assert len(client.get(PASSWORDS, headers=alice).json()) == 1


def test_the_cap_is_answered_with_a_reason(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    with TestClient(create_app(make_settings(max_app_passwords_per_user=2))) as client:
        make_password(client, alice, ["read"])
        make_password(client, alice, ["feed"])
        response = client.post(PASSWORDS, json={"name": "x", "scopes": ["read"]}, headers=alice)
        assert response.status_code == 409
        assert "at most 2" in response.json()["detail"]
        # Revoking one makes room again.
        oldest = client.get(PASSWORDS, headers=alice).json()[0]["id"]
        assert client.delete(f"{PASSWORDS}/{oldest}", headers=alice).status_code == 204
        make_password(client, alice, ["read"])


def test_a_deleted_user_takes_their_passwords(client: TestClient, alice: Headers) -> None:
    make_password(client, alice, ["read"])
    query(client, 'DELETE FROM "user" WHERE id = :id', id="alice")
    assert query(client, "SELECT id FROM app_password") == []
