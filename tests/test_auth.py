"""Bearer-token authentication, tried the way an attacker would."""

import base64
import json
import threading
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SECRET, Headers, bearer, make_token, query
from todo_api.auth import issue_token

TASKS = "/api/alice/tasks"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_unauthorized(response, detail: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_missing_token_is_401(client: TestClient) -> None:
    assert_unauthorized(client.get(TASKS), "Not authenticated")


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer", "Bearer ", "Token abc", "abc"]
)
def test_malformed_authorization_header_is_401(client: TestClient, authorization: str) -> None:
    assert_unauthorized(
        client.get(TASKS, headers={"Authorization": authorization}), "Not authenticated"
    )


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "e30.e30.", "x" * 5000])
def test_garbage_token_is_401(client: TestClient, token: str) -> None:
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "Invalid token")


def test_expired_token_is_401(client: TestClient) -> None:
    token = make_token("alice", expires_in=timedelta(minutes=-5))
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "Token has expired")


def test_token_expired_within_leeway_is_accepted(client: TestClient) -> None:
    token = make_token("alice", expires_in=timedelta(seconds=-5))
    assert client.get(TASKS, headers=bearer(token)).status_code == 200


def test_token_without_expiry_is_401(client: TestClient) -> None:
    token = jwt.encode({"sub": "alice"}, TEST_SECRET, algorithm="HS256")
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "Invalid token")


def test_token_signed_with_another_secret_is_401(client: TestClient) -> None:
    token = issue_token("some-other-secret-of-sufficient-length!!", subject="alice")
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "Invalid token")


def test_tampered_payload_is_401(client: TestClient) -> None:
    header, _, signature = make_token("bob").split(".")
    forged = f"{header}.{_b64({'sub': 'alice', 'exp': 4102444800})}.{signature}"
    assert_unauthorized(client.get(TASKS, headers=bearer(forged)), "Invalid token")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_token_is_401(client: TestClient, alg: str) -> None:
    token = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64({'sub': 'alice', 'exp': 4102444800})}."
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "Invalid token")


def test_token_with_another_hmac_algorithm_is_401(client: TestClient) -> None:
    token = issue_token(TEST_SECRET, subject="alice", algorithm="HS512")
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "Invalid token")


def test_configured_algorithm_is_honoured(make_settings) -> None:
    from todo_api.main import create_app

    with TestClient(create_app(make_settings(jwt_algorithm="HS512"))) as client:
        hs512 = issue_token(TEST_SECRET, subject="alice", algorithm="HS512")
        assert client.get(TASKS, headers=bearer(hs512)).status_code == 200
        assert client.get(TASKS, headers=bearer(make_token("alice"))).status_code == 401


def test_token_without_a_user_is_401(client: TestClient) -> None:
    token = jwt.encode({"exp": 4102444800, "email": "a@b.c"}, TEST_SECRET, algorithm="HS256")
    assert_unauthorized(client.get(TASKS, headers=bearer(token)), "User ID not found in token")


def test_user_id_claim_names_the_user_when_sub_is_absent(client: TestClient) -> None:
    token = jwt.encode({"user_id": "alice", "exp": 4102444800}, TEST_SECRET, algorithm="HS256")
    response = client.post(TASKS, json={"title": "via user_id"}, headers=bearer(token))
    assert response.status_code == 201
    assert response.json()["user_id"] == "alice"


@pytest.mark.parametrize("user_id", [123, ["alice"], "ali\x00ce", "ali\nce", "x" * 256])
def test_unusable_user_id_claim_is_401(client: TestClient, user_id) -> None:
    token = jwt.encode({"user_id": user_id, "exp": 4102444800}, TEST_SECRET, algorithm="HS256")
    assert client.get(TASKS, headers=bearer(token)).status_code == 401
    assert query(client, 'SELECT id FROM "user"') == []


def test_non_string_sub_is_401(client: TestClient) -> None:
    token = jwt.encode({"sub": 42, "exp": 4102444800}, TEST_SECRET, algorithm="HS256")
    assert client.get("/api/42/tasks", headers=bearer(token)).status_code == 401


def test_auth_is_checked_before_ownership_and_existence(client: TestClient) -> None:
    for path in ("/api/bob/tasks", "/api/bob/tasks/1", "/api/alice/tasks/999"):
        assert client.get(path).status_code == 401


# --- user rows --------------------------------------------------------------------------------


def test_first_request_creates_the_user_row_from_claims(client: TestClient, alice: Headers) -> None:
    client.get(TASKS, headers=alice)
    rows = query(client, 'SELECT id, name, email, "emailVerified", image FROM "user"')
    assert rows == [
        {
            "id": "alice",
            "name": "Alice",
            "email": "alice@example.com",
            "emailVerified": False,
            "image": None,
        }
    ]


def test_user_without_email_claim_gets_an_undeliverable_placeholder(
    client: TestClient, bob: Headers
) -> None:
    client.get("/api/bob/tasks", headers=bob)
    rows = query(client, 'SELECT id, name, email FROM "user"')
    assert rows == [{"id": "bob", "name": "bob", "email": "bob@users.invalid"}]


def test_email_already_taken_by_another_user_does_not_block(client: TestClient) -> None:
    first = bearer(make_token("u1", email="shared@example.com"))
    second = bearer(make_token("u2", email="shared@example.com"))
    assert client.post("/api/u1/tasks", json={"title": "a"}, headers=first).status_code == 201
    assert client.post("/api/u2/tasks", json={"title": "b"}, headers=second).status_code == 201
    rows = query(client, 'SELECT id, email FROM "user" ORDER BY id')
    assert rows == [
        {"id": "u1", "email": "shared@example.com"},
        {"id": "u2", "email": "u2@users.invalid"},
    ]


def test_concurrent_first_requests_of_a_new_user_all_succeed(client: TestClient) -> None:
    headers = bearer(make_token("newcomer", email="new@example.com"))
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def first_request(n: int) -> None:
        barrier.wait()
        response = client.post("/api/newcomer/tasks", json={"title": f"t{n}"}, headers=headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=first_request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8
    assert query(client, 'SELECT id FROM "user"') == [{"id": "newcomer"}]
    assert len(query(client, "SELECT id FROM task")) == 8


def test_user_row_deleted_behind_our_back_is_recreated_on_create(
    client: TestClient, alice: Headers
) -> None:
    client.get(TASKS, headers=alice)
    query(client, "DELETE FROM \"user\" WHERE id = 'alice'")
    response = client.post(TASKS, json={"title": "still works"}, headers=alice)
    assert response.status_code == 201
    assert query(client, 'SELECT id FROM "user"') == [{"id": "alice"}]
