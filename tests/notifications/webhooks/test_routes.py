"""`/api/{user_id}/webhooks`: create, list, delete, limits, and URLs that are refused."""

import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers
from todo_api.main import create_app
from todo_api.notifications.webhooks.service import MAX_WEBHOOKS_PER_USER

PUBLIC_URL = "https://93.184.215.14/hooks/todo"  # an IP literal: no DNS needed


@pytest.fixture
def private_client(make_settings) -> TestClient:
    with TestClient(
        create_app(make_settings(webhook_allow_private=True, background_jobs=False))
    ) as client:
        yield client


def test_create_returns_the_secret_once_and_lists_without_it(
    client: TestClient, alice: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="todo_api")
    created = client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}, headers=alice)
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert body["events"] == [
        "task.created",
        "task.updated",
        "task.deleted",
        "reminder.due",
        "list.created",
        "list.updated",
        "list.deleted",
        "list.joined",
        "list.left",
    ]
    assert body["enabled"] is True and body["disabled_at"] is None
    listed = client.get("/api/alice/webhooks", headers=alice)
    one = client.get(f"/api/alice/webhooks/{body['id']}", headers=alice)
    assert listed.status_code == one.status_code == 200
    assert [hook["id"] for hook in listed.json()] == [body["id"]]
    for response in (listed, one):
        assert "secret" not in response.text and secret not in response.text
    assert secret not in caplog.text


def test_events_can_be_chosen(client: TestClient, alice: Headers) -> None:
    response = client.post(
        "/api/alice/webhooks",
        json={"url": PUBLIC_URL, "events": ["reminder.due", "task.deleted", "reminder.due"]},
        headers=alice,
    )
    assert response.status_code == 201
    assert response.json()["events"] == ["task.deleted", "reminder.due"]


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC_URL, "events": []},
        {"url": PUBLIC_URL, "events": ["task.exploded"]},
        {"url": "ftp://93.184.215.14/x"},
        {"url": "not a url"},
        {"url": "https://user:pass@93.184.215.14/x"},
        {"url": "https://93.184.215.14:99999/x"},
        {"url": "https:///nohost"},
        {"url": "https://93.184.215.14/x\x00"},
        {"url": "https://93.184.215.14/" + "x" * 2000},
        {"url": PUBLIC_URL, "secret": "whsec_mine"},
        {},
    ],
)
def test_invalid_bodies_are_422(client: TestClient, alice: Headers, body: dict) -> None:
    response = client.post("/api/alice/webhooks", json=body, headers=alice)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fd00:ec2::254]/",  # AWS's IPv6 metadata
        "http://100.100.100.200/",  # shared address space (another cloud's metadata)
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_receivers_on_private_addresses_are_refused(
    client: TestClient, alice: Headers, url: str
) -> None:
    response = client.post("/api/alice/webhooks", json={"url": url}, headers=alice)
    assert response.status_code == 422, response.text
    assert "WEBHOOK_ALLOW_PRIVATE" in response.json()["detail"][0]["msg"]
    assert client.get("/api/alice/webhooks", headers=alice).json() == []


def test_unresolvable_hosts_are_refused(client: TestClient, alice: Headers) -> None:
    response = client.post(
        "/api/alice/webhooks", json={"url": "https://no-such-host.invalid/x"}, headers=alice
    )
    assert response.status_code == 422
    assert "does not resolve" in response.json()["detail"][0]["msg"]


def test_private_receivers_are_allowed_with_the_setting(
    private_client: TestClient, alice: Headers
) -> None:
    response = private_client.post(
        "/api/alice/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=alice
    )
    assert response.status_code == 201, response.text


def test_production_requires_https(make_settings, alice: Headers) -> None:
    settings = make_settings(environment="production", background_jobs=False)
    with TestClient(create_app(settings)) as client:
        plain = client.post(
            "/api/alice/webhooks", json={"url": "http://93.184.215.14/x"}, headers=alice
        )
        assert plain.status_code == 422
        assert "https" in plain.json()["detail"][0]["msg"]
        secure = client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}, headers=alice)
        assert secure.status_code == 201


def test_at_most_ten_webhooks_per_user(client: TestClient, alice: Headers, bob: Headers) -> None:
    for number in range(MAX_WEBHOOKS_PER_USER):
        response = client.post(
            "/api/alice/webhooks", json={"url": f"{PUBLIC_URL}/{number}"}, headers=alice
        )
        assert response.status_code == 201
    over = client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}, headers=alice)
    assert over.status_code == 409
    assert "10" in over.json()["detail"]
    assert (
        client.post("/api/bob/webhooks", json={"url": PUBLIC_URL}, headers=bob).status_code == 201
    )


def test_delete_removes_it(client: TestClient, alice: Headers) -> None:
    hook = client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}, headers=alice).json()
    assert client.delete(f"/api/alice/webhooks/{hook['id']}", headers=alice).status_code == 204
    assert client.get("/api/alice/webhooks", headers=alice).json() == []
    assert client.delete(f"/api/alice/webhooks/{hook['id']}", headers=alice).status_code == 404


def test_other_users_webhooks_are_invisible(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    hook = client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}, headers=alice).json()
    assert client.get("/api/alice/webhooks", headers=bob).status_code == 403
    assert client.get("/api/bob/webhooks", headers=bob).json() == []
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries")):
        response = client.request(method, f"/api/bob/webhooks/{hook['id']}{suffix}", headers=bob)
        assert response.status_code == 404
    assert len(client.get("/api/alice/webhooks", headers=alice).json()) == 1


def test_webhooks_need_a_token(client: TestClient) -> None:
    assert client.get("/api/alice/webhooks").status_code == 401
    assert client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}).status_code == 401


@pytest.mark.parametrize("webhook_id", ["0", "abc", "99999999999"])
def test_bad_ids_are_refused(client: TestClient, alice: Headers, webhook_id: str) -> None:
    response = client.get(f"/api/alice/webhooks/{webhook_id}", headers=alice)
    assert response.status_code in (404, 422)


def test_a_new_webhook_has_no_deliveries(client: TestClient, alice: Headers) -> None:
    hook = client.post("/api/alice/webhooks", json={"url": PUBLIC_URL}, headers=alice).json()
    response = client.get(f"/api/alice/webhooks/{hook['id']}/deliveries", headers=alice)
    assert response.status_code == 200
    assert response.json() == []
