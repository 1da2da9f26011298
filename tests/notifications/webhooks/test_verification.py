"""A webhook's receiver proves it wants the events (it echoes a challenge) before it gets any."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, part, query
from tests.notifications.webhooks.test_deliveries import FAST, create, wait_until
from tests.support.receiver import Receiver, payloads
from todo_api.main import create_app
from todo_api.notifications.jobs import Notifications
from todo_api.sync.horizon import ChangeHorizon


@pytest.fixture
def hooked(make_settings) -> TestClient:
    with TestClient(create_app(make_settings(**FAST))) as client:
        yield client


def test_creating_a_webhook_challenges_its_receiver_with_a_signed_request(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    response = hooked.post("/api/alice/webhooks", json={"url": receiver.url}, headers=alice)
    assert response.status_code == 201, response.text
    hook = response.json()
    assert hook["verified"] is True and hook["verification_error"] is None
    assert hook["verified_at"] is not None
    (challenge,) = receiver.challenges
    assert challenge["type"] == "webhook.verify"
    assert len(challenge["data"]["challenge"]) >= 32
    # Signed like every delivery: the secret the answer shows checks it.
    receiver.secret = hook["secret"]
    body = receiver.last_challenge_body
    assert receiver.verify(body, receiver.last_challenge_headers) == challenge


def test_a_receiver_that_does_not_echo_the_challenge_gets_nothing_until_it_does(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    receiver.echoes = False  # it answers 200 "ok", as a URL that never asked for events does
    created = hooked.post("/api/alice/webhooks", json={"url": receiver.url}, headers=alice)
    assert created.status_code == 201
    hook = created.json()
    assert hook["verified"] is False
    assert "challenge" in hook["verification_error"]
    receiver.secret = hook["secret"]
    before = create(hooked, alice, "before verification")
    wait_until(lambda: query(hooked, "SELECT id FROM change"))
    receiver.requests.clear()
    # The receiver now answers: verified, it is sent what comes after, not what came before.
    receiver.echoes = True
    verified = hooked.post(f"/api/alice/webhooks/{hook['id']}/verify", headers=alice)
    assert verified.status_code == 200
    assert verified.json()["verified"] is True
    after = create(hooked, alice, "after verification")
    receiver.wait_for(1)
    assert [change["task_id"] for change in payloads(receiver)] == [after["id"]]
    assert before["id"] != after["id"]


def test_a_failed_verification_drops_what_was_queued(
    make_settings, alice: Headers, receiver: Receiver
) -> None:
    settings = make_settings(**FAST, background_jobs=False)
    with TestClient(create_app(settings)) as client:
        hook = client.post("/api/alice/webhooks", json={"url": receiver.url}, headers=alice).json()
        create(client, alice)
        client.portal.call(part(client, ChangeHorizon).fresh)
        assert client.portal.call(part(client, Notifications).dispatcher.dispatch) == 1
        receiver.echoes = False
        answer = client.post(f"/api/alice/webhooks/{hook['id']}/verify", headers=alice).json()
        assert answer["verified"] is False
        assert query(client, "SELECT status FROM webhook_delivery") == [{"status": "failed"}]
        assert client.portal.call(part(client, Notifications).deliverer.deliver_due) == 0
    assert [p["type"] for p in payloads(receiver)] == ["webhook.verify"]  # the challenge alone


def test_a_receiver_that_answers_late_is_not_verified(
    make_settings, alice: Headers, receiver: Receiver
) -> None:
    with TestClient(create_app(make_settings(**FAST, webhook_timeout_seconds=0.3))) as client:
        receiver.echoes = False
        receiver.delay = 1.0
        hook = client.post("/api/alice/webhooks", json={"url": receiver.url}, headers=alice)
        assert hook.json()["verified"] is False
        assert "no answer within 0.3 s" in hook.json()["verification_error"]


def test_another_users_webhook_cannot_be_verified(
    hooked: TestClient, alice: Headers, bob: Headers, receiver: Receiver
) -> None:
    hook = hooked.post("/api/alice/webhooks", json={"url": receiver.url}, headers=alice).json()
    challenged = len(receiver.challenges)
    for path in (f"/api/bob/webhooks/{hook['id']}/verify", "/api/bob/webhooks/999/verify"):
        response = hooked.post(path, headers=bob)
        assert response.status_code == 404
        assert response.json() == {"detail": "Webhook not found"}
    assert hooked.post(f"/api/alice/webhooks/{hook['id']}/verify", headers=bob).status_code == 403
    assert len(receiver.challenges) == challenged
