"""Guessing app passwords is throttled as guessing sign-in passwords is: the same counters, and
a throttled caller's guesses answer 429; the owner's right app password still works."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.accounts.app_passwords.helpers import basic, make_password
from tests.conftest import Headers
from todo_api.core.config import Settings
from todo_api.main import create_app

TASKS = "/api/alice/tasks"


def test_wrong_passwords_lead_to_429_and_the_right_one_still_works(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    settings = make_settings(login_max_failures_per_account=3)
    with TestClient(create_app(settings)) as client:
        password = make_password(client, alice, ["read"])["password"]
        for _ in range(3):
            assert client.get(TASKS, headers=basic("alice", "wrong-guess")).status_code == 401
        throttled = client.get(TASKS, headers=basic("alice", "wrong-guess"))
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        # 150 random bits are not guessed: the owner's clients go on syncing meanwhile.
        assert client.get(TASKS, headers=basic("alice", password)).status_code == 200
        assert client.get(TASKS, headers=basic("alice", "wrong-guess")).status_code == 429
        # Bearer tokens are not throttled by it.
        assert client.get(TASKS, headers=alice).status_code == 200


def test_basic_failures_count_against_sign_in(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    settings = make_settings(login_max_failures_per_account=3)
    with TestClient(create_app(settings)) as client:
        client.post(
            "/api/auth/sign-up",
            json={"email": "erin@example.com", "password": "a long enough passphrase"},
        )
        for _ in range(3):
            response = client.get(TASKS, headers=basic("erin@example.com", "wrong-guess"))
            assert response.status_code == 401
        sign_in = client.post(
            "/api/auth/sign-in",
            json={"email": "erin@example.com", "password": "a long enough passphrase"},
        )
        assert sign_in.status_code == 429


def test_requests_without_credentials_are_not_counted(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    settings = make_settings(login_max_failures_per_ip=2)
    with TestClient(create_app(settings)) as client:
        password = make_password(client, alice, ["read"])["password"]
        for _ in range(4):
            assert client.get(TASKS).status_code == 401
        assert client.get(TASKS, headers=basic("alice", password)).status_code == 200
