"""The service's own tokens name their issuer, audience and type, and are checked for them; a
frontend's `{sub, exp}` HS256 tokens keep working unless the operator expects an issuer."""

from collections.abc import Callable

import jwt
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET, bearer, make_token
from todo_api.accounts.tokens import issue_token
from todo_api.cli import cli
from todo_api.main import create_app

ME = "/api/auth/me"
PASSWORD = "a long enough passphrase"


def _sign_in_token(client: TestClient, email: str = "erin@example.com") -> str:
    body = {"email": email, "password": PASSWORD, "name": "Erin"}
    assert client.post("/api/auth/sign-up", json=body).status_code == 201
    response = client.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()["access_token"]


def _ours(**overrides: object) -> str:
    """A token shaped like the service's own, with some of its parts changed."""
    headers = overrides.pop("headers", {"typ": "at+jwt"})
    claims = {"sub": "alice", "iss": "todo-api", "aud": "todo-api", "exp": 2_000_000_000}
    claims |= overrides
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, TEST_SECRET, headers=headers
    )


def test_sign_in_tokens_carry_issuer_audience_and_type(client: TestClient) -> None:
    token = _sign_in_token(client)
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience="todo-api")
    assert claims["iss"] == "todo-api"
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_cli_tokens_carry_them_too(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BETTER_AUTH_SECRET", TEST_SECRET)
    monkeypatch.setenv("TOKEN_ISSUER", "https://todo.example")
    result = CliRunner().invoke(cli, ["token", "--sub", "alice"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience="todo-api")
    assert claims["iss"] == "https://todo.example"


@pytest.mark.parametrize(
    "token",
    [
        _ours(aud="another-service"),
        _ours(aud=None),
        _ours(headers={}),
        _ours(headers={"typ": "JWT"}),
    ],
    ids=["wrong-audience", "no-audience", "no-type", "wrong-type"],
)
def test_a_token_naming_the_service_as_issuer_must_be_its_access_token(
    client: TestClient, token: str
) -> None:
    assert client.get(ME, headers=bearer(token)).status_code == 401


def test_a_token_of_the_service_may_list_several_audiences(client: TestClient) -> None:
    token = _ours(aud=["todo-api", "other"])
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_frontend_tokens_of_the_guidelines_shape_are_accepted_by_default(
    client: TestClient,
) -> None:
    token = jwt.encode({"sub": "frank", "exp": 2_000_000_000}, TEST_SECRET, algorithm="HS256")
    assert client.get(ME, headers=bearer(token)).status_code == 200
    # Whatever issuer a frontend writes, as long as it is not the service's.
    other = make_token("grace", iss="https://frontend.example", aud="anything")
    assert client.get(ME, headers=bearer(other)).status_code == 200


def test_an_expected_issuer_and_audience_are_required_of_frontend_tokens(
    make_settings: Callable[..., object],
) -> None:
    settings = make_settings(
        shared_secret_issuer="https://frontend.example", shared_secret_audience="todo-backend"
    )
    with TestClient(create_app(settings)) as client:
        refused = [
            make_token("frank"),
            make_token("frank", iss="https://frontend.example"),
            make_token("frank", aud="todo-backend"),
            make_token("frank", iss="https://evil.example", aud="todo-backend"),
        ]
        for token in refused:
            assert client.get(ME, headers=bearer(token)).status_code == 401
        accepted = make_token("frank", iss="https://frontend.example", aud="todo-backend")
        assert client.get(ME, headers=bearer(accepted)).status_code == 200
        # The service's own tokens are still its own.
        assert client.get(ME, headers=bearer(_sign_in_token(client))).status_code == 200


def test_issue_token_writes_only_what_it_is_given() -> None:
    token = issue_token(TEST_SECRET, subject="alice")
    assert "typ" not in jwt.get_unverified_header(token) or (
        jwt.get_unverified_header(token)["typ"] == "JWT"
    )
    assert set(jwt.decode(token, TEST_SECRET, algorithms=["HS256"])) == {"sub", "iat", "exp"}


@pytest.mark.parametrize("exp", ["4000000000", True, [4_000_000_000]], ids=["text", "true", "list"])
def test_a_token_whose_exp_is_not_a_number_is_refused_every_time(
    client: TestClient, exp: object
) -> None:
    token = jwt.encode({"sub": "alice", "exp": exp}, TEST_SECRET, algorithm="HS256")
    for _ in range(3):  # the first answer must not be cached into something else later
        response = client.get("/api/alice/tasks", headers=bearer(token))
        assert response.status_code == 401, response.text
        # (PyJWT reads true as 1: long expired.)
        assert response.json()["detail"] in ("Invalid token", "Token has expired")
