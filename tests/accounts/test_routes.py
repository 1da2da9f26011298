"""The service's own accounts, end to end: sign-up, sign-in, the OAuth2 token form, /me."""

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import (
    TEST_SECRET,
    BetterAuthServer,
    Headers,
    bearer,
    create_better_auth_table,
    make_token,
    query,
)
from todo_api.main import create_app

SIGN_UP = "/api/auth/sign-up"
SIGN_IN = "/api/auth/sign-in"
TOKEN = "/api/auth/token"
ME = "/api/auth/me"
PASSWORD = "a long enough passphrase"


@pytest.fixture
def sign_up(client: TestClient) -> Callable[..., dict[str, Any]]:
    """Sign up through the API and return the response body."""

    def create(email: str = "carol@example.com", password: str = PASSWORD, name: str = "Carol"):
        response = client.post(SIGN_UP, json={"email": email, "password": password, "name": name})
        assert response.status_code == 201, response.text
        return response.json()

    return create


def test_sign_up_creates_a_user_and_returns_a_working_token(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    body = sign_up()
    user = body["user"]
    assert user["email"] == "carol@example.com"
    assert user["name"] == "Carol"
    assert user["email_verified"] is False
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    headers = bearer(body["access_token"])
    created = client.post(f"/api/{user['id']}/tasks", json={"title": "t"}, headers=headers)
    assert created.status_code == 201
    assert client.get(ME, headers=headers).json() == user
    # The unverified address is the credential's: the shared table holds a placeholder.
    rows = query(client, 'SELECT id, name, email, "emailVerified" FROM "user"')
    placeholder = f"{user['id']}@users.invalid"
    assert rows == [
        {"id": user["id"], "name": "Carol", "email": placeholder, "emailVerified": False}
    ]
    assert query(client, "SELECT email FROM credential") == [{"email": "carol@example.com"}]


def test_passwords_are_stored_as_argon2id_hashes_only(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    user_id = sign_up()["user"]["id"]
    rows = query(client, "SELECT user_id, password_hash FROM credential")
    assert len(rows) == 1
    assert rows[0]["user_id"] == user_id
    assert rows[0]["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in rows[0]["password_hash"]


def test_issued_token_has_better_auth_claims_shape(sign_up: Callable[..., dict]) -> None:
    body = sign_up()
    claims = jwt.decode(
        body["access_token"], TEST_SECRET, algorithms=["HS256"], audience="todo-api"
    )
    assert claims["sub"] == claims["id"] == body["user"]["id"]
    assert claims["email"] == "carol@example.com"
    assert claims["name"] == "Carol"
    assert claims["emailVerified"] is False
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


def test_sign_up_ids_look_like_better_auths(sign_up: Callable[..., dict]) -> None:
    ids = {sign_up(email=f"u{n}@example.com")["user"]["id"] for n in range(2)}
    assert len(ids) == 2
    assert all(len(i) == 32 and i.isalnum() for i in ids)


def test_email_is_normalised(client: TestClient, sign_up: Callable[..., dict]) -> None:
    assert sign_up(email="  Carol@Example.COM ")["user"]["email"] == "carol@example.com"
    response = client.post(SIGN_IN, json={"email": "CAROL@example.com", "password": PASSWORD})
    assert response.status_code == 200


def test_duplicate_sign_up_is_409(client: TestClient, sign_up: Callable[..., dict]) -> None:
    sign_up()
    response = client.post(
        SIGN_UP, json={"email": "Carol@example.com", "password": PASSWORD, "name": "Other"}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "An account with this email already exists"}
    assert len(query(client, 'SELECT id FROM "user"')) == 1
    assert len(query(client, "SELECT user_id FROM credential")) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"password": "short"}, "Password must be at least 10 characters"),
        ({"password": "qwertyuiop"}, "Password is too common; choose another one"),
        ({"password": "Password123"}, "Password is too common; choose another one"),
    ],
)
def test_weak_passwords_are_422(client: TestClient, body: dict, detail: str) -> None:
    response = client.post(SIGN_UP, json={"email": "d@example.com", "name": "D"} | body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["msg"]) == (["body", "password"], detail)
    assert query(client, 'SELECT id FROM "user"') == []


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "name": "D"},
        {"email": "d@users.invalid", "password": PASSWORD, "name": "D"},
        {"email": "d@example.com", "password": PASSWORD, "name": "  "},
        {"email": "d@example.com", "password": PASSWORD},
        {"email": "d@example.com", "password": "x" * 129, "name": "D"},
        {"email": "d@example.com", "password": "nul\x00in the password", "name": "D"},
        {"email": "d@example.com", "password": PASSWORD, "name": "x" * 101},
    ],
    ids=["email", "reserved-domain", "blank-name", "no-name", "long-pw", "nul-pw", "long-name"],
)
def test_invalid_sign_up_is_422(client: TestClient, body: dict) -> None:
    assert client.post(SIGN_UP, json=body).status_code == 422
    assert query(client, 'SELECT id FROM "user"') == []


def test_password_minimum_length_is_configurable(make_settings) -> None:
    with TestClient(create_app(make_settings(password_min_length=20))) as client:
        body = {"email": "e@example.com", "password": "nineteen characters", "name": "E"}
        response = client.post(SIGN_UP, json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["msg"] == "Password must be at least 20 characters"


def test_sign_in_returns_a_token_for_the_account(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    user = sign_up()["user"]
    response = client.post(SIGN_IN, json={"email": "carol@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert client.get(ME, headers=bearer(body["access_token"])).json()["id"] == user["id"]


@pytest.mark.parametrize("route", ["sign-in", "token"])
def test_sign_in_answers_with_the_user_beside_the_token(
    client: TestClient, sign_up: Callable[..., dict], route: str
) -> None:
    signed_up = sign_up()
    credentials = {"email": "carol@example.com", "password": PASSWORD}
    if route == "token":  # the OAuth2 form of /docs
        form = {"username": credentials["email"], "password": PASSWORD}
        response = client.post("/api/auth/token", data=form)
    else:
        response = client.post(SIGN_IN, json=credentials)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert body["user"] == signed_up["user"]
    assert {"id", "email", "name"} <= set(body["user"])
    assert body["user"]["email"] == "carol@example.com"
    # Its id is the path's: the token opens /api/{id}/tasks.
    path = f"/api/{body['user']['id']}/tasks"
    assert client.get(path, headers=bearer(body["access_token"])).status_code == 200


@pytest.mark.parametrize("email", ["carol@example.com", "nobody@example.com"])
def test_wrong_password_or_unknown_email_is_401(
    client: TestClient, sign_up: Callable[..., dict], email: str
) -> None:
    sign_up()
    response = client.post(SIGN_IN, json={"email": email, "password": "not the password"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect email or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_email_takes_as_long_as_a_wrong_password(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    sign_up()

    def duration(email: str) -> float:
        started = time.perf_counter()
        response = client.post(SIGN_IN, json={"email": email, "password": "not the password"})
        assert response.status_code == 401
        return time.perf_counter() - started

    duration("warm-up@example.com")
    known = min(duration("carol@example.com") for _ in range(2))
    unknown = min(duration(f"nobody{n}@example.com") for n in range(2))
    # Both run one Argon2 verification (~0.1 s); a skipped one would be ~100x faster.
    assert unknown > known / 3


def test_token_form_signs_in_for_the_docs_authorize_button(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    user = sign_up()["user"]
    response = client.post(TOKEN, data={"username": "Carol@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert client.get(ME, headers=bearer(body["access_token"])).json()["id"] == user["id"]


@pytest.mark.parametrize(
    "form",
    [
        {"username": "carol@example.com", "password": "wrong password"},
        {"username": "not an email", "password": PASSWORD},
        {"username": "carol@example.com", "password": "x" * 200},
    ],
)
def test_token_form_with_bad_credentials_is_401(
    client: TestClient, sign_up: Callable[..., dict], form: dict
) -> None:
    sign_up()
    response = client.post(TOKEN, data=form)
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect email or password"}


def test_token_form_without_fields_is_422(client: TestClient) -> None:
    assert client.post(TOKEN, data={"username": "a@example.com"}).status_code == 422


def test_openapi_offers_the_password_flow(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == TOKEN
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    security = schema["paths"]["/api/{user_id}/tasks"]["get"]["security"]
    assert {"OAuth2PasswordBearer": []} in security
    assert {"HTTPBearer": []} in security


def test_repeated_failures_for_one_account_are_429(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    sign_up()
    wrong = {"email": "carol@example.com", "password": "not the password"}
    for _ in range(5):
        assert client.post(SIGN_IN, json=wrong).status_code == 401
    response = client.post(SIGN_IN, json=wrong)
    assert response.status_code == 429
    assert response.json() == {"detail": "Too many failed attempts; try again later"}
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    # Locked: even the right password waits, on both sign-in routes.
    right = {"email": "carol@example.com", "password": PASSWORD}
    assert client.post(SIGN_IN, json=right).status_code == 429
    form = {"username": "carol@example.com", "password": PASSWORD}
    assert client.post(TOKEN, data=form).status_code == 429


def test_repeated_failures_from_one_address_are_429(make_settings) -> None:
    settings = make_settings(login_max_failures_per_ip=3, login_max_failures_per_account=10)
    with TestClient(create_app(settings)) as client:
        for n in range(3):
            body = {"email": f"guess{n}@example.com", "password": "not the password"}
            assert client.post(SIGN_IN, json=body).status_code == 401
        response = client.post(SIGN_IN, json={"email": "other@example.com", "password": "x"})
        assert response.status_code == 429
        assert "Retry-After" in response.headers


def test_probing_for_taken_emails_by_sign_up_is_429(make_settings) -> None:
    settings = make_settings(login_max_failures_per_ip=2)
    with TestClient(create_app(settings)) as client:
        body = {"email": "h@example.com", "password": PASSWORD, "name": "H"}
        assert client.post(SIGN_UP, json=body).status_code == 201
        assert client.post(SIGN_UP, json=body).status_code == 409
        assert client.post(SIGN_UP, json=body).status_code == 409
        probe = client.post(SIGN_UP, json=body | {"email": "i@example.com"})
        assert probe.status_code == 429
        assert "Retry-After" in probe.headers
        assert query(client, "SELECT email FROM credential") == [{"email": "h@example.com"}]


def test_lockout_ends_after_the_window(make_settings) -> None:
    settings = make_settings(login_max_failures_per_account=1, login_failure_window_seconds=1)
    with TestClient(create_app(settings)) as client:
        signed_up = client.post(
            SIGN_UP, json={"email": "f@example.com", "password": PASSWORD, "name": "F"}
        )
        assert signed_up.status_code == 201
        wrong = {"email": "f@example.com", "password": "not the password"}
        assert client.post(SIGN_IN, json=wrong).status_code == 401
        assert client.post(SIGN_IN, json=wrong).status_code == 429
        time.sleep(1.1)
        right = {"email": "f@example.com", "password": PASSWORD}
        assert client.post(SIGN_IN, json=right).status_code == 200


def test_successful_sign_in_clears_the_accounts_failures(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    sign_up()
    wrong = {"email": "carol@example.com", "password": "not the password"}
    right = {"email": "carol@example.com", "password": PASSWORD}
    for _ in range(4):
        assert client.post(SIGN_IN, json=wrong).status_code == 401
    assert client.post(SIGN_IN, json=right).status_code == 200
    for _ in range(4):
        assert client.post(SIGN_IN, json=wrong).status_code == 401
    assert client.post(SIGN_IN, json=right).status_code == 200


def test_accounts_can_be_switched_off(make_settings) -> None:
    with TestClient(create_app(make_settings(accounts_enabled=False))) as client:
        body = {"email": "g@example.com", "password": PASSWORD, "name": "G"}
        assert client.post(SIGN_UP, json=body).status_code == 404
        assert client.post(SIGN_IN, json=body).status_code == 404
        assert client.post(TOKEN, data={"username": "g", "password": "p"}).status_code == 404
        # The profile still works for the other token modes.
        me = client.get(ME, headers=bearer(make_token("alice", email="alice@example.com")))
        assert me.status_code == 200
        assert me.json()["email"] == "alice@example.com"
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
        assert "OAuth2PasswordBearer" not in schemes


def test_me_returns_the_profile_of_a_shared_secret_token(
    client: TestClient, alice: Headers
) -> None:
    me = client.get(ME, headers=alice)
    assert me.status_code == 200
    body = me.json()
    assert {k: body[k] for k in ("id", "email", "name", "image", "email_verified")} == {
        "id": "alice",
        "email": "alice@example.com",
        "name": "Alice",
        "image": None,
        "email_verified": True,  # as alice's token says
    }
    assert body["created_at"].endswith("Z")


def test_me_without_a_token_is_401(client: TestClient) -> None:
    assert client.get(ME).status_code == 401


def test_deleting_a_user_deletes_their_password(
    client: TestClient, sign_up: Callable[..., dict]
) -> None:
    user_id = sign_up()["user"]["id"]
    query(client, 'DELETE FROM "user" WHERE id = :id', id=user_id)
    assert query(client, "SELECT user_id FROM credential") == []


# --- sharing the database with Better Auth ----------------------------------------------------


@pytest.mark.empty_database
def test_accounts_and_better_auth_users_share_a_better_auth_made_table(
    make_settings, better_auth: BetterAuthServer
) -> None:
    settings = make_settings(better_auth_url=better_auth.url)

    create_better_auth_table(
        settings,
        'INSERT INTO "user" (id, name, email, "emailVerified", image) VALUES '
        "('ba-user', 'Bea', 'bea@example.com', true, 'https://img.example/b.png')",
    )
    with TestClient(create_app(settings)) as client:
        # Better Auth's user, with Better Auth's token.
        ba = bearer(
            better_auth.token(
                sub="ba-user",
                email="bea@example.com",
                name="Bea",
                image="https://img.example/b.png",
            )
        )
        assert client.post("/api/ba-user/tasks", json={"title": "t"}, headers=ba).status_code == 201
        me = client.get(ME, headers=ba).json()
        assert (me["email"], me["email_verified"]) == ("bea@example.com", True)
        # Their email cannot be taken by a new account of the service's own.
        taken = {"email": "Bea@example.com", "password": PASSWORD, "name": "Impostor"}
        assert client.post(SIGN_UP, json=taken).status_code == 409
        # An account of the service's own is a complete Better Auth user row.
        new = {"email": "dan@example.com", "password": PASSWORD, "name": "Dan"}
        created = client.post(SIGN_UP, json=new)
        assert created.status_code == 201
        rows = query(
            client,
            'SELECT id, name, email, "emailVerified", image, "createdAt", "updatedAt" '
            'FROM "user" WHERE id = :id',
            id=created.json()["user"]["id"],
        )
        assert len(rows) == 1
        assert rows[0]["email"] == f"{rows[0]['id']}@users.invalid"
        assert rows[0]["createdAt"] is not None and rows[0]["updatedAt"] is not None
        assert not rows[0]["emailVerified"]
        # Better Auth's row kept its columns.
        kept = query(
            client, 'SELECT name, "emailVerified", image FROM "user" WHERE id = \'ba-user\''
        )
        assert kept == [
            {"name": "Bea", "emailVerified": True, "image": "https://img.example/b.png"}
        ]
