"""Webhook deliveries of task changes to a real receiver that verifies their signatures."""

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_DATABASE_URL, Headers, part, query
from tests.support.receiver import Receiver, payloads
from todo_api.core.config import Settings
from todo_api.core.database import open_database
from todo_api.main import create_app
from todo_api.notifications.jobs import Notifications
from todo_api.notifications.webhooks.deliveries import Deliverer
from todo_api.notifications.webhooks.dispatch import Dispatcher
from todo_api.notifications.webhooks.secret_box import SecretBox
from todo_api.notifications.webhooks.sender import WebhookSender, signed_headers
from todo_api.notifications.webhooks.service import new_secret
from todo_api.sync.horizon import ChangeHorizon

FAST = {
    "webhook_allow_private": True,
    "webhook_retry_delays": [0.2, 0.2, 0.2],
    "jobs_poll_seconds": 0.05,
}


@pytest.fixture
def hooked(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """The app with its webhook jobs running, allowed to reach the local receiver."""
    with TestClient(create_app(make_settings(**FAST))) as client:
        yield client


def subscribe(
    client: TestClient, headers: Headers, receiver: Receiver, user: str = "alice", **body: Any
) -> dict:
    response = client.post(
        f"/api/{user}/webhooks", json={"url": receiver.url + "/hook", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    hook = response.json()
    assert hook["verified"], hook["verification_error"]
    receiver.secret = hook["secret"]
    return hook


def create(client: TestClient, headers: Headers, title: str = "Buy milk", user: str = "alice"):
    response = client.post(f"/api/{user}/tasks", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(client: TestClient, headers: Headers, hook: dict) -> list[dict]:
    response = client.get(f"/api/alice/webhooks/{hook['id']}/deliveries", headers=headers)
    assert response.status_code == 200
    return response.json()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    pytest.fail("condition not met in time")


def test_a_change_is_delivered_as_the_change_json_signed_with_the_secret(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    hook = subscribe(hooked, alice, receiver)
    task = create(hooked, alice)
    (request,) = receiver.wait_for(1)
    (logged,) = hooked.get("/api/alice/changes", headers=alice).json()["changes"]
    assert request.verified == logged
    assert logged["type"] == "task.created" and logged["task"] == task
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{logged['id']}_{hook['id']}"
    assert request.headers["webhook-signature"].startswith("v1,")
    (attempt,) = wait_until(lambda: deliveries(hooked, alice, hook))
    assert attempt | {"at": None} == {
        "delivery_id": attempt["delivery_id"],
        "message_id": request.headers["webhook-id"],
        "event": "task.created",
        "attempt": 1,
        "status_code": 200,
        "error": None,
        "at": None,
    }


def test_every_kind_of_change_is_delivered_in_order(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    subscribe(hooked, alice, receiver)
    task = create(hooked, alice)
    hooked.patch(f"/api/alice/tasks/{task['id']}", json={"title": "Oat milk"}, headers=alice)
    hooked.delete(f"/api/alice/tasks/{task['id']}", headers=alice)
    receiver.wait_for(3)
    events = sorted(payloads(receiver), key=lambda change: change["at"])
    assert [change["type"] for change in events] == [
        "task.created",
        "task.updated",
        "task.deleted",
    ]
    assert events[1]["task"]["title"] == "Oat milk"
    assert events[2]["task"] is None


def test_list_changes_are_delivered_to_webhooks_that_subscribe_to_them(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    subscribe(hooked, alice, receiver, events=["list.created", "list.deleted"])
    made = hooked.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    hooked.patch(f"/api/alice/lists/{made['id']}", json={"name": "Job"}, headers=alice)
    hooked.delete(f"/api/alice/lists/{made['id']}", headers=alice)
    receiver.wait_for(2)
    time.sleep(0.3)
    events = sorted(payloads(receiver), key=lambda change: change["at"])
    assert [(c["type"], c["list_id"]) for c in events] == [
        ("list.created", made["id"]),
        ("list.deleted", made["id"]),
    ]
    assert events[0]["list"] == {name: v for name, v in made.items() if name != "role"}
    assert events[1]["list"] is None


def test_every_change_type_is_an_event_a_webhook_can_subscribe_to(
    hooked: TestClient, alice: Headers
) -> None:
    schema = hooked.get("/openapi.json").json()["components"]["schemas"]["WebhookEvent"]
    assert set(schema["enum"]) == {
        *(f"task.{what}" for what in ("created", "updated", "deleted")),
        "reminder.due",
        *(f"list.{what}" for what in ("created", "updated", "deleted", "joined", "left")),
    }


def test_a_signature_made_with_another_secret_does_not_verify(receiver: Receiver) -> None:
    # The receiver's check is real: it accepts our signature and refuses anybody else's.
    receiver.secret = new_secret()
    assert receiver.verify(b"{}", signed_headers(receiver.secret, "msg_1", "{}")) == {}
    assert receiver.verify(b"{}", signed_headers(new_secret(), "msg_1", "{}")) is None
    assert receiver.verify(b"{}", {}) is None


def test_only_the_owners_subscribed_events_after_it_was_made_are_sent(
    hooked: TestClient, alice: Headers, bob: Headers, receiver: Receiver
) -> None:
    before = create(hooked, alice, "Before the webhook")
    subscribe(hooked, alice, receiver, events=["task.deleted"])
    task = create(hooked, alice)
    create(hooked, bob, user="bob")
    hooked.delete(f"/api/alice/tasks/{task['id']}", headers=alice)
    receiver.wait_for(1)
    time.sleep(0.5)
    assert [(c["type"], c["task_id"]) for c in payloads(receiver)] == [("task.deleted", task["id"])]
    assert before["id"] != task["id"]


def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    hook = subscribe(hooked, alice, receiver)
    receiver.statuses = [500, 503]
    create(hooked, alice)
    requests = receiver.wait_for(3)
    assert [r.answered for r in requests] == [500, 503, 200]
    # The same message each time, so the receiver can tell a retry from a new event.
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert all(r.verified and r.verified["type"] == "task.created" for r in requests)
    attempts = wait_until(lambda: len(found := deliveries(hooked, alice, hook)) == 3 and found)
    assert [(a["attempt"], a["status_code"], a["error"]) for a in attempts] == [
        (3, 200, None),
        (2, 503, "HTTP 503"),
        (1, 500, "HTTP 500"),
    ]
    time.sleep(0.5)
    assert len(receiver.requests) == 3
    assert hooked.get(f"/api/alice/webhooks/{hook['id']}", headers=alice).json()["enabled"]


def test_a_webhook_failing_every_attempt_is_disabled(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    hook = subscribe(hooked, alice, receiver)
    receiver.statuses = [500] * 10
    create(hooked, alice)
    receiver.wait_for(4)  # the first attempt and three retries
    shown = wait_until(
        lambda: (
            (h := hooked.get(f"/api/alice/webhooks/{hook['id']}", headers=alice).json())
            and not h["enabled"]
            and h
        )
    )
    assert shown["disabled_at"] is not None
    assert "4 attempts" in shown["disabled_reason"] and "HTTP 500" in shown["disabled_reason"]
    assert hooked.get("/api/alice/webhooks", headers=alice).json()[0]["enabled"] is False
    # Disabled: nothing more is sent, not even new changes.
    create(hooked, alice, "Another")
    time.sleep(0.5)
    assert len(receiver.requests) == 4


def test_redirects_are_not_followed(hooked: TestClient, alice: Headers, receiver: Receiver) -> None:
    hook = subscribe(hooked, alice, receiver)
    receiver.statuses = [302, 200]
    create(hooked, alice)
    requests = receiver.wait_for(2)
    assert [r.answered for r in requests] == [302, 200]
    attempts = wait_until(lambda: len(found := deliveries(hooked, alice, hook)) == 2 and found)
    assert "redirects are not followed" in attempts[-1]["error"]


def test_a_slow_receiver_times_out_and_is_retried(
    make_settings: Callable[..., Settings], alice: Headers, receiver: Receiver
) -> None:
    settings = make_settings(**FAST | {"webhook_timeout_seconds": 0.3})
    with TestClient(create_app(settings)) as client:
        hook = subscribe(client, alice, receiver)
        receiver.delays = [1.0]
        create(client, alice)
        attempts = wait_until(
            lambda: len(found := deliveries(client, alice, hook)) >= 2 and found, timeout=15
        )
        assert attempts[-1]["error"] == "no answer within 0.3 s"
        assert attempts[0]["status_code"] == 200


def test_writes_never_wait_for_the_receiver(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    subscribe(hooked, alice, receiver)
    receiver.delay = 3.0
    create(hooked, alice)
    receiver.wait_for(1)  # arrived: the receiver now holds it for 3 s
    started = time.monotonic()
    for number in range(5):
        create(hooked, alice, f"Task {number}")
    assert time.monotonic() - started < 1.5


def test_delivery_rechecks_the_address_when_private_receivers_are_not_allowed(
    make_settings: Callable[..., Settings], alice: Headers, receiver: Receiver
) -> None:
    # Created while allowed; the running service is not (as if DNS now pointed at 127.0.0.1).
    with TestClient(create_app(make_settings(**FAST))) as client:
        hook = subscribe(client, alice, receiver)
    settings = make_settings(**FAST | {"webhook_allow_private": False})
    with TestClient(create_app(settings)) as client:
        create(client, alice)
        attempts = wait_until(lambda: deliveries(client, alice, hook))
        assert "not a public address" in attempts[0]["error"]
        assert attempts[0]["status_code"] is None
    assert receiver.requests == []


def test_deleting_a_webhook_drops_its_queue(
    make_settings: Callable[..., Settings], alice: Headers, receiver: Receiver
) -> None:
    with TestClient(create_app(make_settings(**FAST | {"background_jobs": False}))) as client:
        hook = subscribe(client, alice, receiver)
        create(client, alice)
        client.portal.call(part(client, ChangeHorizon).fresh)  # its loop may not have run yet
        assert client.portal.call(part(client, Notifications).dispatcher.dispatch) == 1
        assert query(client, "SELECT count(*) AS n FROM webhook_delivery")[0]["n"] == 1
        client.delete(f"/api/alice/webhooks/{hook['id']}", headers=alice)
        assert query(client, "SELECT count(*) AS n FROM webhook_delivery")[0]["n"] == 0


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SKIP LOCKED claims need PostgreSQL")
def test_concurrent_workers_queue_and_deliver_each_change_once(
    make_settings: Callable[..., Settings], alice: Headers, bob: Headers, receiver: Receiver
) -> None:
    settings = make_settings(**FAST | {"background_jobs": False})
    with TestClient(create_app(settings)) as client:
        subscribe(client, alice, receiver)
        for number in range(100):
            create(client, alice, f"Task {number}")

    async def race() -> None:
        databases = [await open_database(settings, migrate=False) for _ in range(4)]
        # Not started: each worker's horizon moves only when it is asked to.
        horizons = [ChangeHorizon(db) for db in databases]
        dispatchers = [
            Dispatcher(db, settings, h) for db, h in zip(databases, horizons, strict=True)
        ]
        senders = [WebhookSender(timeout=5, allow_private=True) for _ in databases]
        workers = [
            Deliverer(db, settings, sender, SecretBox(settings))
            for db, sender in zip(databases, senders, strict=True)
        ]
        try:
            deadline = time.monotonic() + 30
            while len(receiver.delivered) < 100 and time.monotonic() < deadline:
                await asyncio.gather(*(horizon.fresh() for horizon in horizons))
                await asyncio.gather(
                    *(d.dispatch() for d in dispatchers), *(w.deliver_due() for w in workers)
                )
                await asyncio.sleep(0.05)
        finally:
            for worker, sender in zip(workers, senders, strict=True):
                await worker.close()
                await sender.close()
            for db in databases:
                await db.close()

    asyncio.run(race())
    titles = sorted(change["task"]["title"] for change in receiver.delivered)
    assert titles == sorted(f"Task {number}" for number in range(100))


def test_an_attempt_that_raises_is_a_failed_attempt_and_the_delivery_moves_on(
    hooked: TestClient, alice: Headers, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = subscribe(hooked, alice, receiver)
    sender = part(hooked, Notifications).sender
    real_send = sender.send
    calls = []

    async def send_once_broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("something nobody expected")
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(sender, "send", send_once_broken)
    create(hooked, alice)
    receiver.wait_for(1)  # the retry
    attempts = wait_until(lambda: len(found := deliveries(hooked, alice, hook)) == 2 and found)
    assert [a["error"] for a in reversed(attempts)] == ["the attempt failed", None]
    assert "something nobody expected" not in str(attempts)


def test_a_connection_that_fails_says_only_that_it_failed(
    make_settings: Callable[..., Settings], alice: Headers, receiver: Receiver
) -> None:
    # A closed port and an open one must look alike to the user: no port scanning through it.
    with TestClient(create_app(make_settings(**FAST))) as client:
        hook = subscribe(client, alice, receiver)
        query(client, "UPDATE webhook SET url = :url", url=f"http://127.0.0.1:{_closed_port()}/")
        create(client, alice)
        attempts = wait_until(lambda: deliveries(client, alice, hook))
    assert attempts[0]["error"] == "the connection failed"
    assert attempts[0]["status_code"] is None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_secrets_are_sealed_at_rest_and_old_plain_ones_still_sign(
    hooked: TestClient, alice: Headers, receiver: Receiver
) -> None:
    hook = subscribe(hooked, alice, receiver)
    (stored,) = query(hooked, "SELECT secret FROM webhook")
    assert hook["secret"] not in stored["secret"] and not stored["secret"].startswith("whsec_")
    create(hooked, alice, "signed with the sealed secret")
    receiver.wait_for(1)
    # A secret stored before they were sealed is read as it is.
    plain = new_secret()
    query(hooked, "UPDATE webhook SET secret = :s", s=plain)
    receiver.secret = plain
    create(hooked, alice, "signed with the old plain one")
    requests = receiver.wait_for(2)
    assert all(request.verified for request in requests)


def test_a_members_webhook_gets_the_shared_lists_changes_and_list_joined(
    hooked: TestClient, alice: Headers, bob: Headers, receiver: Receiver
) -> None:
    subscribe(hooked, bob, receiver, user="bob")
    home = hooked.post("/api/alice/lists", json={"name": "Home"}, headers=alice).json()
    url = f"/api/alice/lists/{home['id']}/invitations"
    link = hooked.post(url, json={"role": "viewer"}, headers=alice).json()["token"]
    hooked.post("/api/bob/invitations/accept", json={"token": link}, headers=bob)
    task = hooked.post(
        "/api/alice/tasks", json={"title": "Sink", "list_id": home["id"]}, headers=alice
    ).json()
    create(hooked, alice, "Alice's own")
    receiver.wait_for(2)
    time.sleep(0.3)
    events = sorted(payloads(receiver), key=lambda change: change["at"])
    assert [c["type"] for c in events] == ["list.joined", "task.created"]
    assert events[1]["task"] == task
