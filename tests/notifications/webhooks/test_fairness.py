"""Deliveries are claimed fairly: one user's slow or dead receivers never delay another user's
deliveries, and a webhook's ceiling per minute holds deliveries back without dropping any."""

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers
from tests.notifications.webhooks.test_deliveries import FAST, create, subscribe
from tests.support.receiver import Receiver, payloads, serve_receiver
from todo_api.main import create_app
from todo_api.notifications.webhooks import deliveries


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


def test_one_users_slow_receivers_never_delay_another_users_deliveries(
    make_settings, alice: Headers, bob: Headers, receiver: Receiver, second_receiver: Receiver
) -> None:
    slow, fast = receiver, second_receiver
    settings = make_settings(**FAST | {"webhook_timeout_seconds": 5.0})
    with TestClient(create_app(settings)) as client:
        # Alice: every webhook she may have, all on a receiver that holds each request past
        # the timeout, and a burst of changes for each.
        for _ in range(10):
            subscribe(client, alice, slow)
        slow.delay = 10.0
        for number in range(20):
            create(client, alice, f"Alice {number}")
        slow.wait_for(10)  # her deliveries are going out, and hanging
        subscribe(client, bob, fast, user="bob")
        latencies = []
        for number in range(5):
            started = time.time()
            task = create(client, bob, f"Bob {number}", user="bob")
            arrived = fast.wait_for(number + 1, timeout=10)[-1]
            assert arrived.verified and arrived.verified["task_id"] == task["id"]
            latencies.append(arrived.at - started)
        assert max(latencies) < 2.0, latencies


def test_beyond_its_ceiling_a_webhook_waits_and_loses_nothing(
    make_settings, alice: Headers, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deliveries, "CEILING_WINDOW", timedelta(seconds=2))
    settings = make_settings(**FAST | {"webhook_max_per_minute": 3})
    with TestClient(create_app(settings)) as client:
        subscribe(client, alice, receiver)
        started = time.monotonic()
        tasks = [create(client, alice, f"Task {number}") for number in range(7)]
        receiver.wait_for(3)
        time.sleep(0.5)
        assert len(receiver.requests) == 3  # the ceiling: the rest wait
        receiver.wait_for(7, timeout=20)
        elapsed = time.monotonic() - started
    assert sorted(change["task_id"] for change in payloads(receiver)) == [t["id"] for t in tasks]
    assert elapsed >= 4  # three windows' worth: 3 + 3 + 1
