"""Passwords a guesser would try first are refused, and the schema says what is required."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import query
from todo_api.main import create_app

SIGN_UP = "/api/auth/sign-up"


@pytest.mark.parametrize(
    ("email", "password", "detail"),
    [
        ("dora.explorer@example.com", "dora.explorer@example.com", "must not be the email"),
        ("dora.explorer@example.com", "Dora.Explorer@Example.com", "must not be the email"),
        ("dora.explorer@example.com", "dora.explorer", "must not be the email"),
        ("dora@example.com", "aaaaaaaaaaaa", "must not be one character repeated"),
        ("dora@example.com", "############", "must not be one character repeated"),
    ],
)
def test_a_password_that_is_the_email_or_one_repeated_character_is_refused(
    client: TestClient, email: str, password: str, detail: str
) -> None:
    response = client.post(SIGN_UP, json={"email": email, "password": password, "name": "D"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"] and detail in error["msg"]
    assert "input" not in error
    assert query(client, 'SELECT id FROM "user"') == []


def test_a_password_merely_containing_the_name_or_repeats_is_fine(client: TestClient) -> None:
    body = {"email": "dora@example.com", "password": "dora aaaa and more", "name": "D"}
    assert client.post(SIGN_UP, json=body).status_code == 201


def test_the_sign_up_schema_states_the_real_minimum_length(
    client: TestClient, make_settings
) -> None:
    def minimum(test_client: TestClient) -> tuple[int, int]:
        schemas = test_client.get("/openapi.json").json()["components"]["schemas"]
        return schemas["SignUp"]["properties"]["password"]["minLength"], schemas["SignIn"][
            "properties"
        ]["password"]["minLength"]

    assert minimum(client) == (10, 1)  # sign-in takes any password an account may have
    with TestClient(create_app(make_settings(password_min_length=14))) as configured:
        assert minimum(configured) == (14, 1)
