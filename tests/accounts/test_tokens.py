"""Bearer-token authentication, tried the way an attacker would."""

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.warnings import InsecureKeyLengthWarning

from tests.conftest import (
    JWKS_ALGORITHMS,
    TEST_SECRET,
    BetterAuthServer,
    Headers,
    SigningKey,
    bearer,
    make_token,
    new_signing_key,
    query,
)
from todo_api.accounts.tokens import issue_token
from todo_api.main import create_app

TASKS = "/api/alice/tasks"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_unauthorized(response, detail: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_missing_token_is_401(client: TestClient) -> None:
    assert_unauthorized(client.get(TASKS), "Not authenticated")


NOT_BEARER = "The Authorization header must use the Bearer scheme: Authorization: Bearer <token>"


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Token abc", NOT_BEARER),
        ("abc", NOT_BEARER),
        ("Bearer", "The Authorization header holds no token after Bearer"),
        ("Bearer ", "The Authorization header holds no token after Bearer"),
    ],
)
def test_malformed_authorization_header_is_401(
    client: TestClient, authorization: str, detail: str
) -> None:
    assert_unauthorized(client.get(TASKS, headers={"Authorization": authorization}), detail)


def test_basic_where_only_bearer_is_taken_is_told_to_send_bearer(client: TestClient) -> None:
    # The task API also takes app passwords over Basic (tests/accounts/app_passwords); lists
    # take bearer tokens only.
    basic = {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}
    assert_unauthorized(client.get("/api/alice/lists", headers=basic), NOT_BEARER)


def test_a_token_sent_without_its_scheme_is_told_to_send_bearer(client: TestClient) -> None:
    token = make_token("alice")
    response = client.get(TASKS, headers={"Authorization": token})
    assert_unauthorized(response, NOT_BEARER)
    assert token not in response.text


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
            "emailVerified": True,  # as the token says
            "image": None,
        }
    ]


def test_a_token_that_does_not_say_the_email_is_verified_leaves_it_unverified(
    client: TestClient,
) -> None:
    for name, claims in (("carol", {}), ("dave", {"emailVerified": False})):
        token = bearer(make_token(name, email=f"{name}@example.com", **claims))
        assert client.get(f"/api/{name}/tasks", headers=token).status_code == 200
    rows = query(client, 'SELECT id, "emailVerified" FROM "user" ORDER BY id')
    assert [(row["id"], bool(row["emailVerified"])) for row in rows] == [
        ("carol", False),
        ("dave", False),
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


# --- Better Auth's JWKS mode ------------------------------------------------------------------


def _tasks(client: TestClient, token: str, user: str = "ba-user"):
    return client.get(f"/api/{user}/tasks", headers=bearer(token))


@pytest.mark.parametrize("alg", JWKS_ALGORITHMS)
def test_better_auth_token_of_every_algorithm_is_accepted(
    jwks_client: TestClient, better_auth: BetterAuthServer, signing_keys, alg: str
) -> None:
    token = better_auth.token(signing_keys[alg], email="ba@example.com", name="Bea")
    assert _tasks(jwks_client, token).status_code == 200
    me = jwks_client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["id"] == "ba-user"
    assert query(jwks_client, 'SELECT id, name, email FROM "user"') == [
        {"id": "ba-user", "name": "Bea", "email": "ba@example.com"}
    ]


def test_expired_better_auth_token_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    token = better_auth.token(expires_in=-120)
    assert_unauthorized(_tasks(jwks_client, token), "Token has expired")


def test_better_auth_token_within_leeway_is_accepted(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    assert _tasks(jwks_client, better_auth.token(expires_in=-5)).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://evil.example"},
        {"aud": "https://evil.example"},
        {"aud": ["https://evil.example"]},
        {"iss": None},
        {"aud": None},
        {"exp": None},
    ],
    ids=["wrong-iss", "wrong-aud", "wrong-aud-list", "no-iss", "no-aud", "no-exp"],
)
def test_better_auth_token_with_wrong_or_missing_claims_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer, claims: dict
) -> None:
    token = better_auth.token(**claims)
    assert_unauthorized(_tasks(jwks_client, token), "Invalid token")
    assert query(jwks_client, 'SELECT id FROM "user"') == []


def test_configured_issuer_and_audience_replace_the_defaults(
    make_settings, better_auth: BetterAuthServer
) -> None:
    settings = make_settings(
        better_auth_url=better_auth.url, jwt_issuer="https://id.example", jwt_audience="todo"
    )
    with TestClient(create_app(settings)) as client:
        good = better_auth.token(iss="https://id.example", aud="todo")
        assert _tasks(client, good).status_code == 200
        assert _tasks(client, better_auth.token()).status_code == 401


def test_token_signed_by_another_key_under_a_known_kid_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    genuine = better_auth.keys[0]
    impostor = new_signing_key(genuine.alg, kid=genuine.kid)
    assert_unauthorized(_tasks(jwks_client, better_auth.token(impostor)), "Invalid token")


def test_token_with_unknown_kid_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    token = better_auth.token(new_signing_key("EdDSA"))
    assert_unauthorized(_tasks(jwks_client, token), "Invalid token")


def test_token_without_kid_is_401(jwks_client: TestClient, better_auth: BetterAuthServer) -> None:
    key = better_auth.keys[0]
    token = jwt.encode(
        {"sub": "ba-user", "iss": better_auth.url, "aud": better_auth.url, "exp": 4102444800},
        key.private_key,
        algorithm=key.alg,
    )
    assert_unauthorized(_tasks(jwks_client, token), "Invalid token")


@pytest.mark.parametrize("alg", ["none", "None"])
def test_unsigned_token_naming_a_known_kid_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer, alg: str
) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": better_auth.keys[0].kid}
    claims = {"sub": "ba-user", "iss": better_auth.url, "aud": better_auth.url, "exp": 4102444800}
    token = f"{_b64(header)}.{_b64(claims)}."
    assert_unauthorized(_tasks(jwks_client, token), "Invalid token")


def _hs256_with(key_material: bytes, header: dict, claims: dict) -> str:
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    signature = hmac.new(key_material, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@pytest.mark.parametrize("shared_secret_mode", [True, False], ids=["with-secret", "jwks-only"])
@pytest.mark.parametrize("material", ["pem", "jwk"])
def test_hs256_token_signed_with_the_public_key_is_401(
    make_settings, better_auth: BetterAuthServer, shared_secret_mode: bool, material: str
) -> None:
    key = better_auth.keys[0]
    public = key.private_key.public_key()
    key_material = (
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if material == "pem"
        else json.dumps(key.public_jwk).encode()
    )
    claims = {"sub": "ba-user", "iss": better_auth.url, "aud": better_auth.url, "exp": 4102444800}
    token = _hs256_with(key_material, {"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims)
    overrides = (
        {} if shared_secret_mode else {"better_auth_secret": None, "accounts_enabled": False}
    )
    settings = make_settings(better_auth_url=better_auth.url, **overrides)
    with TestClient(create_app(settings)) as client:
        assert_unauthorized(_tasks(client, token), "Invalid token")
        assert _tasks(client, better_auth.token()).status_code == 200


def test_jwks_only_mode_refuses_every_hmac_token(
    make_settings, better_auth: BetterAuthServer
) -> None:
    settings = make_settings(
        better_auth_url=better_auth.url, better_auth_secret=None, accounts_enabled=False
    )
    with TestClient(create_app(settings)) as client:
        assert_unauthorized(client.get(TASKS, headers=bearer(make_token("alice"))), "Invalid token")


def test_shared_secret_tokens_still_work_beside_jwks(jwks_client: TestClient) -> None:
    assert jwks_client.get(TASKS, headers=bearer(make_token("alice"))).status_code == 200


def test_algorithm_off_the_allow_list_is_401(
    make_settings, better_auth: BetterAuthServer, signing_keys
) -> None:
    settings = make_settings(better_auth_url=better_auth.url, jwks_algorithms="EdDSA")
    with TestClient(create_app(settings)) as client:
        assert _tasks(client, better_auth.token(signing_keys["EdDSA"])).status_code == 200
        assert_unauthorized(
            _tasks(client, better_auth.token(signing_keys["ES256"])), "Invalid token"
        )


def test_token_whose_alg_differs_from_its_keys_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer, signing_keys
) -> None:
    # A genuine PS256 signature, made with the RSA key published for RS256 only.
    rs256 = signing_keys["RS256"]
    mislabelled = SigningKey(rs256.kid, "PS256", rs256.private_key)
    assert_unauthorized(_tasks(jwks_client, better_auth.token(mislabelled)), "Invalid token")
    # ES512 claimed for the P-256 key.
    header = {"alg": "ES512", "typ": "JWT", "kid": signing_keys["ES256"].kid}
    claims = {"sub": "ba-user", "iss": better_auth.url, "aud": better_auth.url, "exp": 4102444800}
    forged = f"{_b64(header)}.{_b64(claims)}.{_b64({'x': 1})}"
    assert_unauthorized(_tasks(jwks_client, forged), "Invalid token")


def test_rotated_key_is_picked_up_without_a_restart(
    make_settings, better_auth: BetterAuthServer
) -> None:
    settings = make_settings(better_auth_url=better_auth.url, jwks_refresh_min_interval_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        assert _tasks(client, better_auth.token()).status_code == 200
        assert better_auth.fetches == 1
        rotated = new_signing_key("EdDSA")
        better_auth.keys = [rotated]
        time.sleep(0.25)
        assert _tasks(client, better_auth.token(rotated)).status_code == 200
        assert better_auth.fetches == 2


def test_jwks_outage_does_not_fail_tokens_of_cached_keys(
    make_settings, better_auth: BetterAuthServer
) -> None:
    # Keys go stale at once, so every request also tries (and fails) to refresh them.
    settings = make_settings(
        better_auth_url=better_auth.url,
        jwks_cache_seconds=0.01,
        jwks_refresh_min_interval_seconds=0,
    )
    with TestClient(create_app(settings)) as client:
        assert _tasks(client, better_auth.token(name="First")).status_code == 200
        better_auth.stop()
        time.sleep(0.05)
        for n in range(3):
            # A new token each time: not one the verified-token cache already knows.
            response = _tasks(client, better_auth.token(name=f"Token {n}"))
            assert response.status_code == 200
        # Keys it never saw cannot be verified while the JWKS is unreachable.
        assert _tasks(client, better_auth.token(new_signing_key("EdDSA"))).status_code == 401


def test_jwks_server_errors_are_401_not_500(make_settings, better_auth: BetterAuthServer) -> None:
    better_auth.failing = True
    with TestClient(create_app(make_settings(better_auth_url=better_auth.url))) as client:
        assert_unauthorized(_tasks(client, better_auth.token()), "Invalid token")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"keys": "none"}', b'{"keys": [{"kid": 1}, "x"]}', b" " * 1_100_000],
    ids=["not-json", "not-an-object", "keys-not-a-list", "unusable-keys", "oversized"],
)
def test_malformed_jwks_is_401_not_500(
    make_settings, better_auth: BetterAuthServer, body: bytes
) -> None:
    better_auth.body = body
    with TestClient(create_app(make_settings(better_auth_url=better_auth.url))) as client:
        assert_unauthorized(_tasks(client, better_auth.token()), "Invalid token")
        assert better_auth.fetches == 1


def test_forged_kid_flood_fetches_the_jwks_at_most_once_per_interval(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    assert _tasks(jwks_client, better_auth.token()).status_code == 200
    for _ in range(30):
        forged = better_auth.token(new_signing_key("EdDSA", kid=uuid.uuid4().hex))
        assert _tasks(jwks_client, forged).status_code == 401
    assert better_auth.fetches == 1


def test_concurrent_forged_kids_on_a_cold_cache_share_one_fetch(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    impostor = new_signing_key("EdDSA")
    tokens = [
        better_auth.token(SigningKey(uuid.uuid4().hex, "EdDSA", impostor.private_key))
        for _ in range(16)
    ]
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []

    def send(token: str) -> None:
        barrier.wait()
        statuses.append(_tasks(jwks_client, token).status_code)

    threads = [threading.Thread(target=send, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [401] * len(tokens)
    assert better_auth.fetches == 1


def test_jwks_url_setting_overrides_the_better_auth_default(
    make_settings, better_auth: BetterAuthServer
) -> None:
    settings = make_settings(
        jwks_url=f"{better_auth.url}/api/auth/jwks",
        jwt_issuer=better_auth.url,
        jwt_audience=better_auth.url,
    )
    with TestClient(create_app(settings)) as client:
        assert _tasks(client, better_auth.token()).status_code == 200


# --- profile claims fill and refresh the user row ----------------------------------------------


def test_changed_profile_claims_refresh_the_row_once(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    token = better_auth.token(name="Bea", image="https://img.example/1.png")
    assert _tasks(jwks_client, token).status_code == 200
    # Changed behind the service's back: repeated requests with the same claims must not write.
    query(jwks_client, "UPDATE \"user\" SET name = 'Untouched' WHERE id = 'ba-user'")
    for _ in range(3):
        assert (
            _tasks(
                jwks_client, better_auth.token(name="Bea", image="https://img.example/1.png")
            ).status_code
            == 200
        )
    assert query(jwks_client, 'SELECT name FROM "user"') == [{"name": "Untouched"}]
    renamed = better_auth.token(name="Beatrice", image="https://img.example/2.png")
    assert _tasks(jwks_client, renamed).status_code == 200
    assert query(jwks_client, 'SELECT name, image, email FROM "user"') == [
        {"name": "Beatrice", "image": "https://img.example/2.png", "email": "ba-user@example.com"}
    ]


def test_token_without_profile_claims_leaves_the_row_alone(
    client: TestClient, alice: Headers
) -> None:
    client.get(TASKS, headers=alice)
    assert client.get(TASKS, headers=bearer(make_token("alice"))).status_code == 200
    rows = query(client, 'SELECT name, email FROM "user"')
    assert rows == [{"name": "Alice", "email": "alice@example.com"}]


def test_email_claim_taken_by_another_user_is_not_copied_on_refresh(client: TestClient) -> None:
    client.get("/api/u1/tasks", headers=bearer(make_token("u1", email="one@example.com")))
    client.get("/api/u2/tasks", headers=bearer(make_token("u2", email="two@example.com")))
    response = client.get(
        "/api/u2/tasks", headers=bearer(make_token("u2", email="one@example.com", name="Two"))
    )
    assert response.status_code == 200
    rows = query(client, 'SELECT id, name, email FROM "user" ORDER BY id')
    assert rows == [
        {"id": "u1", "name": "one", "email": "one@example.com"},
        {"id": "u2", "name": "Two", "email": "two@example.com"},
    ]


def test_token_signed_by_a_published_but_weak_rsa_key_is_401(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    weak = SigningKey("weak-rsa", "RS256", rsa.generate_private_key(65537, key_size=1024))
    better_auth.keys.append(weak)
    with pytest.warns(InsecureKeyLengthWarning):
        token = better_auth.token(weak)
    assert_unauthorized(_tasks(jwks_client, token), "Invalid token")


# --- why a token was refused: DEBUG log lines for the operator, never the token ---------------


def _refusal_logged(client: TestClient, token: str, caplog: pytest.LogCaptureFixture) -> str:
    with caplog.at_level(logging.DEBUG, logger="todo_api.accounts.verifier"):
        assert client.get(TASKS, headers=bearer(token)).status_code == 401
    records = [r for r in caplog.records if r.getMessage().startswith("Token refused")]
    assert len(records) == 1, caplog.text
    assert records[0].levelno == logging.DEBUG
    assert token not in caplog.text
    # Nor any of its three parts (header, claims, signature).
    assert not any(part and part in caplog.text for part in token.split("."))
    return records[0].getMessage()


def test_refused_token_with_a_wrong_secret_is_logged_as_a_bad_signature(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = issue_token("some-other-secret-of-sufficient-length!!", subject="alice")
    assert _refusal_logged(client, token, caplog) == (
        "Token refused: bad signature (signed with another secret or key)"
    )


def test_refused_expired_token_is_logged_as_expired(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token("alice", expires_in=timedelta(minutes=-5))
    assert _refusal_logged(client, token, caplog) == "Token refused: expired"


def test_refused_token_of_another_issuer_is_logged_with_the_expected_one(
    jwks_client: TestClient, better_auth: BetterAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = better_auth.token(iss="https://evil.example")
    line = _refusal_logged(jwks_client, token, caplog)
    assert line == f"Token refused: wrong issuer (expected {better_auth.url!r})"


def test_refused_token_of_an_unknown_key_is_logged_with_its_kid(
    jwks_client: TestClient, better_auth: BetterAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_signing_key("EdDSA", kid="rotated-away")
    line = _refusal_logged(jwks_client, better_auth.token(key), caplog)
    assert line.startswith("Token refused: unknown key: no kid 'rotated-away' in ")


def test_refused_token_without_expiry_is_logged_as_missing_exp(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = jwt.encode({"sub": "alice"}, TEST_SECRET, algorithm="HS256")
    assert _refusal_logged(client, token, caplog) == "Token refused: no 'exp' claim"
