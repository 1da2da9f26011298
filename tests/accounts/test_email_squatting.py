"""Sign-up cannot squat an address: an unverified address of the service's own accounts never
takes the address in the `user` table that Better Auth shares, so its real owner is not
blocked from it nor shown a placeholder."""

from fastapi.testclient import TestClient

from tests.conftest import BetterAuthServer, bearer, make_token, query
from todo_api.accounts.users import PLACEHOLDER_EMAIL_DOMAIN

SIGN_UP = "/api/auth/sign-up"
SIGN_IN = "/api/auth/sign-in"
ME = "/api/auth/me"
PASSWORD = "a long enough passphrase"


def _sign_up(client: TestClient, email: str) -> dict:
    response = client.post(SIGN_UP, json={"email": email, "password": PASSWORD, "name": "Sq"})
    assert response.status_code == 201, response.text
    return response.json()


def _emails(client: TestClient) -> dict[str, str]:
    return {row["id"]: row["email"] for row in query(client, 'SELECT id, email FROM "user"')}


def test_an_own_sign_up_keeps_its_address_out_of_the_user_table(client: TestClient) -> None:
    signed_up = _sign_up(client, "victim@example.com")
    user_id = signed_up["user"]["id"]
    assert signed_up["user"]["email"] == "victim@example.com"
    assert _emails(client)[user_id] == f"{user_id}@{PLACEHOLDER_EMAIL_DOMAIN}"
    # The account itself works as before, and its profile shows the address it signed up with.
    token = client.post(SIGN_IN, json={"email": "victim@example.com", "password": PASSWORD})
    assert token.status_code == 200
    me = client.get(ME, headers=bearer(token.json()["access_token"]))
    assert me.json()["email"] == "victim@example.com" and me.json()["email_verified"] is False
    # Requests with its token do not write the address either.
    client.get(f"/api/{user_id}/tasks", headers=bearer(token.json()["access_token"]))
    assert _emails(client)[user_id] == f"{user_id}@{PLACEHOLDER_EMAIL_DOMAIN}"


def test_the_real_owner_of_a_squatted_address_gets_it_through_better_auth(
    jwks_client: TestClient, better_auth: BetterAuthServer
) -> None:
    squatter = _sign_up(jwks_client, "owner@example.com")["user"]["id"]
    owner = better_auth.token(sub="real-owner", email="owner@example.com")
    me = jwks_client.get(ME, headers=bearer(owner))
    assert me.status_code == 200
    assert me.json()["email"] == "owner@example.com"
    assert _emails(jwks_client)["real-owner"] == "owner@example.com"
    assert _emails(jwks_client)[squatter].endswith(f"@{PLACEHOLDER_EMAIL_DOMAIN}")


def test_a_frontend_user_s_address_cannot_be_signed_up_again(client: TestClient) -> None:
    frontend = bearer(make_token("frontend-user", email="taken@example.com"))
    assert client.get(ME, headers=frontend).status_code == 200
    response = client.post(
        SIGN_UP, json={"email": "taken@example.com", "password": PASSWORD, "name": "X"}
    )
    assert response.status_code == 409
    assert _emails(client)["frontend-user"] == "taken@example.com"


def test_two_own_sign_ups_of_one_address_are_one_account(client: TestClient) -> None:
    _sign_up(client, "twice@example.com")
    response = client.post(
        SIGN_UP, json={"email": "Twice@Example.com", "password": PASSWORD, "name": "X"}
    )
    assert response.status_code == 409
    assert len(query(client, "SELECT user_id FROM credential")) == 1


def test_a_cli_token_s_email_is_still_written(client: TestClient) -> None:
    # `todo-api token --email` is the operator's, not a sign-up: its address is trusted.
    from tests.conftest import TEST_SECRET
    from todo_api.accounts.tokens import ACCESS_TOKEN_TYPE, issue_token

    token = issue_token(
        TEST_SECRET,
        subject="ops",
        email="ops@example.com",
        issuer="todo-api",
        audience="todo-api",
        token_type=ACCESS_TOKEN_TYPE,
    )
    assert client.get(ME, headers=bearer(token)).json()["email"] == "ops@example.com"
