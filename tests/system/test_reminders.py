"""Reminders and webhooks across real `todo-api serve` processes: once across processes and
workers, late after a crash, and no secret in any log."""

import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx

from tests.conftest import bearer, make_token
from tests.support.receiver import Receiver
from tests.support.smtp import Mailbox
from tests.system.conftest import FIGURES, StartServer, requires_postgres

# An address its owner verified, as Better Auth says: reminders are mailed only to those.
ALICE = bearer(make_token("alice", email="alice@example.com", emailVerified=True))
JOBS = {"webhook_allow_private": "true", "jobs_poll_seconds": "0.5"}


def subscribe(url: str, receiver: Receiver) -> dict:
    response = httpx.post(
        f"{url}/api/alice/webhooks",
        json={"url": receiver.url, "events": ["reminder.due"]},
        headers=ALICE,
    )
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    return response.json()


def task_with_reminder(url: str, fire_at: datetime, title: str = "Call back") -> dict:
    body = {"title": title, "reminders": [{"at": fire_at.isoformat()}]}
    response = httpx.post(f"{url}/api/alice/tasks", json=body, headers=ALICE)
    assert response.status_code == 201, response.text
    return response.json()


@requires_postgres
def test_two_processes_with_two_workers_each_fire_every_reminder_once(
    start_server: StartServer, database_url: str, receiver: Receiver, mailbox: Mailbox
) -> None:
    settings = JOBS | {
        "web_concurrency": "2",
        "smtp_url": mailbox.url,
        "smtp_from": "todo@example.com",
    }
    servers = [start_server(database_url, **settings) for _ in range(2)]
    subscribe(servers[0].url, receiver)
    fire_at = datetime.now(UTC) + timedelta(seconds=3)
    tasks = [
        task_with_reminder(
            servers[number % 2].url, fire_at + timedelta(milliseconds=number), f"T{number}"
        )
        for number in range(20)
    ]
    receiver.wait_for(20, timeout=20)
    mailbox.wait_for(20, timeout=20)
    time.sleep(2)  # anything doubled would have arrived by now
    events = [request.verified for request in receiver.requests]
    assert all(events), "every delivery verifies"
    assert sorted(event["task_id"] for event in events) == sorted(task["id"] for task in tasks)
    assert len(mailbox.messages) == 20
    assert sorted(m["Subject"] for m in mailbox.messages) == sorted(
        f"Reminder: T{number}" for number in range(20)
    )
    lateness = [request.at - fire_at.timestamp() for request in receiver.requests]
    assert max(lateness) < 10
    FIGURES["reminders fired across 2 processes x 2 workers"] += len(events)


def test_a_reminder_due_while_the_service_was_down_fires_late_after_restart(
    start_server: StartServer, database_url: str, receiver: Receiver
) -> None:
    settings = JOBS | {"reminder_late_seconds": "2"}
    server = start_server(database_url, **settings)
    subscribe(server.url, receiver)
    fire_at = datetime.now(UTC) + timedelta(seconds=2)
    task = task_with_reminder(server.url, fire_at)
    server.process.kill()  # no shutdown at all
    server.process.wait()
    time.sleep(max(0.0, fire_at.timestamp() + 3 - time.time()))
    assert receiver.requests == []
    restarted = start_server(database_url, **settings)
    (request,) = receiver.wait_for(1)
    (reminder,) = request.verified["task"]["reminders"]
    assert request.verified["task_id"] == task["id"]
    assert reminder["late"] is True and reminder["fired_at"] is not None
    time.sleep(1.5)
    assert len(receiver.requests) == 1
    shown = httpx.get(f"{restarted.url}/api/alice/tasks/{task['id']}", headers=ALICE).json()
    assert shown["reminders"][0]["late"] is True
    FIGURES["late reminders fired after a kill -9"] += 1


def test_a_local_receiver_is_refused_without_the_setting(
    start_server: StartServer, database_url: str, receiver: Receiver
) -> None:
    server = start_server(database_url)
    response = httpx.post(
        f"{server.url}/api/alice/webhooks", json={"url": receiver.url}, headers=ALICE
    )
    assert response.status_code == 422
    assert "127.0.0.1" in response.json()["detail"][0]["msg"]


def test_a_webhook_secret_never_reaches_a_list_or_the_log(
    start_server: StartServer, database_url: str, receiver: Receiver
) -> None:
    server = start_server(database_url, **JOBS | {"log_level": "DEBUG"})
    hook = subscribe(server.url, receiver)
    secret = hook["secret"]
    task_with_reminder(server.url, datetime.now(UTC))
    receiver.wait_for(1)
    listed = httpx.get(f"{server.url}/api/alice/webhooks", headers=ALICE)
    one = httpx.get(f"{server.url}/api/alice/webhooks/{hook['id']}", headers=ALICE)
    attempts = httpx.get(f"{server.url}/api/alice/webhooks/{hook['id']}/deliveries", headers=ALICE)
    for response in (listed, one, attempts):
        assert response.status_code == 200
        assert secret not in response.text and secret.removeprefix("whsec_") not in response.text
    server.stop()
    log = server.log()
    assert "POST /api/alice/webhooks 201" in log  # the log is there, and has the request
    assert secret.removeprefix("whsec_") not in log
