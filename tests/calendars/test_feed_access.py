"""Who may read a calendar feed: only with a `feed` token of the user's own, never saying why
not; the token never reaches a log or an answer."""

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.accounts.app_passwords.helpers import basic, make_password
from tests.conftest import Headers
from todo_api.core.config import Settings
from todo_api.main import create_app

FEED = "/api/alice/calendar.ics"


def _get(client: TestClient, token: str | None, path: str = FEED) -> Any:
    return client.get(path, params={} if token is None else {"token": token})


def test_another_users_token_is_refused(client: TestClient, bob: Headers) -> None:
    bobs = make_password(client, bob, ["feed"], user="bob")["password"]
    response = client.get(FEED, params={"token": bobs})
    assert response.status_code == 404
    assert bobs not in response.text
    assert client.get("/api/bob/calendar.ics", params={"token": bobs}).status_code == 200


def test_a_revoked_token_is_refused(client: TestClient, alice: Headers) -> None:
    created = make_password(client, alice, ["feed"])
    assert client.get(FEED, params={"token": created["password"]}).status_code == 200
    client.delete(f"/api/alice/app-passwords/{created['id']}", headers=alice)
    response = client.get(FEED, params={"token": created["password"]})
    assert response.status_code == 404
    assert response.json() == {"detail": "Calendar feed not found"}


@pytest.mark.parametrize("scopes", [["caldav"], ["read"], ["read", "write"]])
def test_other_app_passwords_are_not_feed_tokens(
    client: TestClient, alice: Headers, scopes: list[str]
) -> None:
    password = make_password(client, alice, scopes)["password"]
    response = client.get(FEED, params={"token": password})
    assert response.status_code == 404
    assert response.json() == {"detail": "Calendar feed not found"}


def test_a_feed_token_is_not_a_rest_credential(client: TestClient, alice: Headers) -> None:
    token = make_password(client, alice, ["feed"])["password"]
    assert client.get("/api/alice/tasks", headers=basic("alice", token)).status_code == 401
    as_bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/alice/tasks", headers=as_bearer).status_code == 401


def test_bad_tokens_get_one_answer_that_quotes_nothing(client: TestClient) -> None:
    for token in (None, "", "x" * 5000, "a\x00b", "nope-nope-nope"):
        response = _get(client, token)
        assert response.status_code == 404, (token, response.text)
        assert response.json() == {"detail": "Calendar feed not found"}


def test_a_bearer_token_alone_does_not_open_the_feed(client: TestClient, alice: Headers) -> None:
    assert client.get(FEED, headers=alice).status_code == 404


def test_wrong_tokens_are_throttled_and_the_right_one_still_works(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    with TestClient(create_app(make_settings(login_max_failures_per_account=3))) as client:
        token = make_password(client, alice, ["feed"])["password"]
        for _ in range(3):
            assert client.get(FEED, params={"token": "wrong"}).status_code == 404
        assert client.get(FEED, params={"token": "wrong"}).status_code == 429
        assert client.get(FEED, params={"token": token}).status_code == 200


def test_the_token_never_reaches_the_logs(
    client: TestClient, alice: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_password(client, alice, ["feed"])["password"]
    with caplog.at_level(logging.DEBUG):
        caplog.clear()
        assert client.get(FEED, params={"token": token}).status_code == 200
        assert client.get(FEED, params={"token": token + "x"}).status_code == 404
        assert client.get("/api/bob/calendar.ics", params={"token": token}).status_code == 404
    # The service's records: the test client's own (httpx2's) show the URL it asked for.
    served = [record for record in caplog.records if not record.name.startswith("httpx")]
    access = [record for record in served if record.name == "todo_api.access"]
    assert len(access) == 3
    assert all("calendar.ics" in record.getMessage() for record in access)
    for record in served:
        assert token not in record.getMessage()
        assert token not in str(record.args)


def test_odd_paths_and_tokens_are_a_plain_404(client: TestClient) -> None:
    for path in ("/api/a%00b/calendar.ics", "/api/" + "u" * 255 + "/calendar.ics"):
        response = client.get(path, params={"token": "x\x00y"})
        assert response.status_code == 404, (path, response.text)
    assert client.get("/api/" + "u" * 256 + "/calendar.ics").status_code == 422
