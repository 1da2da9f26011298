"""Reminders firing: once, with a signed webhook and an email, late when they were missed."""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_DATABASE_URL, Headers, bearer, make_token, query
from tests.notifications.webhooks.test_deliveries import wait_until
from tests.support.receiver import Receiver
from tests.support.smtp import Mailbox
from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Store, open_database
from todo_api.main import create_app
from todo_api.notifications.reminders.worker import ReminderWorker
from todo_api.sync.log import LogWriter

FAST = {"webhook_allow_private": True, "jobs_poll_seconds": 0.2}


def remind(client: TestClient, headers: Headers, user: str = "alice", **fields: Any) -> dict:
    """A task with reminders, created through the API."""
    response = client.post(f"/api/{user}/tasks", json={"title": "x"} | fields, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def at(moment: datetime) -> list[dict[str, str]]:
    return [{"at": moment.isoformat()}]


def wait_until_fired(client: TestClient, headers: Headers, user: str, task_id: int) -> None:
    """Poll the task until its first reminder has fired; fail after 5 s."""
    url = f"/api/{user}/tasks/{task_id}"
    deadline = time.monotonic() + 5
    while not client.get(url, headers=headers).json()["reminders"][0]["fired_at"]:
        assert time.monotonic() < deadline, "the reminder did not fire within 5 s"
        time.sleep(0.05)


def subscribe(client: TestClient, headers: Headers, receiver: Receiver) -> None:
    response = client.post(
        "/api/alice/webhooks",
        json={"url": receiver.url, "events": ["reminder.due"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]


def test_a_reminder_due_in_two_seconds_fires_once_by_webhook_and_email(
    make_settings: Callable[..., Settings],
    alice: Headers,
    receiver: Receiver,
    mailbox: Mailbox,
) -> None:
    settings = make_settings(
        **FAST, smtp_url=mailbox.url, smtp_from="todo@example.com", app_url="https://app.example"
    )
    with TestClient(create_app(settings)) as client:
        subscribe(client, alice, receiver)
        due = utcnow() + timedelta(minutes=10, seconds=2)
        task = remind(
            client,
            alice,
            title="Call the dentist",
            due_at=due.isoformat(),
            reminders=[{"before_minutes": 10}],
        )
        (request,) = receiver.wait_for(1, timeout=10)
        event = request.verified
        assert event["type"] == "reminder.due" and event["task_id"] == task["id"]
        assert event["task"]["title"] == "Call the dentist"
        (reminder,) = event["task"]["reminders"]
        assert reminder["before_minutes"] == 10 and reminder["late"] is False
        assert reminder["fired_at"] is not None
        logged = client.get("/api/alice/changes", headers=alice).json()["changes"]
        assert logged[-1] == event
        fire_at = (due - timedelta(minutes=10)).timestamp()
        assert fire_at <= request.at < fire_at + 2
        (message,) = mailbox.wait_for(1)
        assert mailbox.recipients == [["alice@example.com"]]
        assert message["Subject"] == "Reminder: Call the dentist"
        assert message["From"] == "todo@example.com"
        text = message.get_payload(decode=True).decode()
        assert "Call the dentist" in text
        assert due.strftime("%Y-%m-%d %H:%M UTC") in text
        assert f"https://app.example/tasks/{task['id']}" in text
        time.sleep(1.0)
        assert len(receiver.requests) == 1 and len(mailbox.messages) == 1
        shown = client.get(f"/api/alice/tasks/{task['id']}", headers=alice).json()
        assert shown["reminders"] == event["task"]["reminders"]
        (row,) = query(client, "SELECT status, attempts FROM reminder_email")
        assert row == {"status": "sent", "attempts": 1}


def test_no_email_without_smtp_or_without_an_address(
    make_settings: Callable[..., Settings], receiver: Receiver, mailbox: Mailbox
) -> None:
    from tests.conftest import bearer, make_token

    anonymous = bearer(make_token("nomail"))  # a token without an email claim
    settings = make_settings(**FAST, smtp_url=mailbox.url, smtp_from="todo@example.com")
    with TestClient(create_app(settings)) as client:
        task = remind(client, anonymous, user="nomail", reminders=at(utcnow()))
        wait_until_fired(client, anonymous, "nomail", task["id"])
        time.sleep(0.5)
        assert query(client, "SELECT count(*) AS n FROM reminder_email")[0]["n"] == 0
    assert mailbox.messages == []


@pytest.mark.parametrize("verified", [{"emailVerified": False}, {}], ids=["false", "not said"])
def test_no_email_to_an_address_nobody_verified(
    make_settings: Callable[..., Settings], mailbox: Mailbox, verified: dict[str, bool]
) -> None:
    from tests.conftest import bearer, make_token

    # A token naming an address its issuer did not verify: the title would go to whoever that
    # address belongs to, as often as the task is edited.
    token = bearer(make_token("mallory", email="victim@example.com", **verified))
    settings = make_settings(**FAST, smtp_url=mailbox.url, smtp_from="todo@example.com")
    with TestClient(create_app(settings)) as client:
        task = remind(client, token, user="mallory", title="Click here", reminders=at(utcnow()))
        wait_until_fired(client, token, "mallory", task["id"])
        time.sleep(0.5)
        assert query(client, "SELECT count(*) AS n FROM reminder_email")[0]["n"] == 0
    assert mailbox.messages == []


def test_a_reminder_email_that_cannot_be_written_is_given_up_not_retried(
    make_settings: Callable[..., Settings], alice: Headers, mailbox: Mailbox
) -> None:
    settings = make_settings(**FAST, smtp_url=mailbox.url, smtp_from="todo@example.com")
    with TestClient(create_app(settings)) as client:
        task = remind(client, alice, reminders=at(utcnow() + timedelta(seconds=1)))
        # Stored before titles refused line breaks: no header can hold it.
        query(client, "UPDATE task SET title = :t", t="Hi\r\nBcc: everyone@example.com")
        wait_until(
            lambda: query(client, "SELECT status FROM reminder_email") == [{"status": "failed"}]
        )
        (row,) = query(client, "SELECT attempts FROM reminder_email")
        assert row["attempts"] == 1
    assert mailbox.messages == []
    assert task["id"]


def test_with_the_log_off_a_write_still_wakes_the_reminder_loop(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    # The loop's own next look is 30 s away: only the write's wake makes it fire sooner.
    settings = make_settings(changes_enabled=False, jobs_poll_seconds=30)
    with TestClient(create_app(settings)) as client:
        time.sleep(0.5)  # the loop's first round (at start) is over: it now waits
        task = remind(client, alice, reminders=at(utcnow()))
        wait_until_fired(client, alice, "alice", task["id"])


def test_a_reminder_missed_while_down_fires_at_start_marked_late(
    make_settings: Callable[..., Settings], alice: Headers, receiver: Receiver
) -> None:
    settings = make_settings(**FAST, reminder_late_seconds=1)
    with TestClient(create_app(settings)) as client:
        subscribe(client, alice, receiver)
    # Written while no process fires reminders: due a minute ago.
    with TestClient(create_app(make_settings(**FAST, background_jobs=False))) as client:
        remind(client, alice, reminders=at(utcnow() - timedelta(minutes=1)))
    with TestClient(create_app(settings)):
        (request,) = receiver.wait_for(1)
    assert request.verified["task"]["reminders"][0]["late"] is True


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SKIP LOCKED claims need PostgreSQL")
def test_concurrent_workers_fire_each_reminder_once(
    make_settings: Callable[..., Settings], alice: Headers
) -> None:
    settings = make_settings(**FAST, background_jobs=False)
    with TestClient(create_app(settings)) as client:
        for number in range(60):
            now = utcnow()
            remind(
                client, alice, title=f"t{number}", reminders=at(now) + at(now + timedelta(0, 0, 1))
            )

    async def race() -> list[int]:
        databases = [await open_database(settings, migrate=False) for _ in range(4)]
        workers = [ReminderWorker(Store(db, LogWriter()), settings) for db in databases]
        try:
            totals = [0] * len(workers)
            for _ in range(5):
                counts = await asyncio.gather(*(worker.fire_due() for worker in workers))
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
            return totals
        finally:
            for db in databases:
                await db.close()

    totals = asyncio.run(race())
    assert sum(totals) == 120


def test_a_members_reminder_reminds_them_not_the_lists_owner(
    make_settings: Callable[..., Settings], alice: Headers, mailbox: Mailbox
) -> None:
    bob = bearer(make_token("bob", email="bob@example.com", emailVerified=True))
    settings = make_settings(**FAST, smtp_url=mailbox.url, smtp_from="todo@example.com")
    with TestClient(create_app(settings)) as client:
        home = client.post("/api/alice/lists", json={"name": "Home"}, headers=alice).json()
        url = f"/api/alice/lists/{home['id']}/invitations"
        link = client.post(url, json={"role": "editor"}, headers=alice).json()["token"]
        client.post("/api/bob/invitations/accept", json={"token": link}, headers=bob)
        task = remind(client, alice, title="Water plants", list_id=home["id"])
        soon = at(utcnow() + timedelta(seconds=1))
        patched = client.patch(
            f"/api/bob/tasks/{task['id']}", json={"reminders": soon}, headers=bob
        )
        assert patched.status_code == 200, patched.text
        wait_until_fired(client, alice, "alice", task["id"])
        mailbox.wait_for(1)
        assert mailbox.recipients == [["bob@example.com"]]
        bobs = client.get("/api/bob/changes", headers=bob).json()["changes"]
        alices = client.get("/api/alice/changes", headers=alice).json()["changes"]
        assert bobs[-1]["type"] == "reminder.due"
        assert alices[-1]["type"] == "task.updated"
        assert "reminder.due" not in {change["type"] for change in alices}
        assert alices[-1]["task"]["reminders"] == bobs[-1]["task"]["reminders"]
