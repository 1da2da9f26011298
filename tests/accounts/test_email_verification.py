"""Own accounts prove their address with a link mailed to it; until then no reminder goes there."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, query
from tests.support.smtp import Mailbox
from todo_api.core.clock import utcnow
from todo_api.main import create_app

PASSWORD = "a long enough passphrase"
FAST = {"jobs_poll_seconds": 0.05}


@pytest.fixture
def mailing(make_settings, mailbox: Mailbox) -> TestClient:
    settings = make_settings(smtp_url=mailbox.url, smtp_from="todo@example.com", **FAST)
    with TestClient(create_app(settings)) as client:
        yield client


def sign_up(client: TestClient, email: str = "erin@example.com") -> dict:
    body = {"email": email, "password": PASSWORD, "name": "Erin"}
    response = client.post("/api/auth/sign-up", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def link_in(message) -> str:
    text = message.get_payload(decode=True).decode()
    (link,) = re.findall(r"https?://\S+", text)
    return link


def open_link(client: TestClient, link: str):
    parts = urlsplit(link)
    return client.get(f"{parts.path}?{parts.query}")


def remind_now(client: TestClient, headers: dict, user: str) -> dict:
    at = (utcnow() + timedelta(seconds=0.3)).isoformat()
    body = {"title": "Water the plants", "reminders": [{"at": at}]}
    response = client.post(f"/api/{user}/tasks", json=body, headers=headers)
    assert response.status_code == 201
    return response.json()


def wait_fired(client: TestClient, headers: dict, user: str, task: dict) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = client.get(f"/api/{user}/tasks/{task['id']}", headers=headers).json()
        if shown["reminders"][0]["fired_at"]:
            return
        time.sleep(0.05)
    pytest.fail("the reminder never fired")


def test_sign_up_mails_a_link_and_opening_it_confirms_the_address(
    mailing: TestClient, mailbox: Mailbox
) -> None:
    signed = sign_up(mailing)
    (message,) = mailbox.wait_for(1)
    assert mailbox.recipients == [["erin@example.com"]]
    assert message["Subject"] == "Confirm your email address"
    headers = bearer(signed["access_token"])
    assert mailing.get("/api/auth/me", headers=headers).json()["email_verified"] is False
    link = link_in(message)
    opened = open_link(mailing, link)
    assert opened.status_code == 200
    assert opened.json() == {"message": "Your email address is confirmed"}
    assert mailing.get("/api/auth/me", headers=headers).json()["email_verified"] is True
    # Once: the link is spent.
    again = open_link(mailing, link)
    assert again.status_code == 404
    assert "unknown, used or expired" in again.json()["detail"]


def test_no_reminder_is_mailed_until_the_address_is_confirmed(
    mailing: TestClient, mailbox: Mailbox
) -> None:
    signed = sign_up(mailing)
    user, headers = signed["user"]["id"], bearer(signed["access_token"])
    (verification,) = mailbox.wait_for(1)
    before = remind_now(mailing, headers, user)
    wait_fired(mailing, headers, user, before)
    time.sleep(0.5)
    assert len(mailbox.messages) == 1  # the link, and no reminder
    assert open_link(mailing, link_in(verification)).status_code == 200
    after = remind_now(mailing, headers, user)
    wait_fired(mailing, headers, user, after)
    reminder = mailbox.wait_for(2)[-1]
    assert reminder["Subject"] == "Reminder: Water the plants"
    assert mailbox.recipients[-1] == ["erin@example.com"]


def test_an_expired_or_unknown_link_confirms_nothing(mailing: TestClient, mailbox: Mailbox) -> None:
    signed = sign_up(mailing)
    (message,) = mailbox.wait_for(1)
    query(mailing, "UPDATE email_verification SET expires_at = :t", t=utcnow())
    assert open_link(mailing, link_in(message)).status_code == 404
    assert mailing.get("/api/auth/verify-email?token=not-a-token").status_code == 404
    me = mailing.get("/api/auth/me", headers=bearer(signed["access_token"])).json()
    assert me["email_verified"] is False


def test_a_new_link_can_be_asked_for_a_few_times_an_hour(
    mailing: TestClient, mailbox: Mailbox
) -> None:
    signed = sign_up(mailing)
    headers = bearer(signed["access_token"])
    first = link_in(mailbox.wait_for(1)[0])
    for _ in range(2):
        response = mailing.post("/api/auth/verify-email/send", headers=headers)
        assert response.status_code == 202
    mailbox.wait_for(3)
    # Three links in an hour (the sign-up's counts): each goes to an unproven address.
    refused = mailing.post("/api/auth/verify-email/send", headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    # A newer link makes the older ones stop working.
    assert open_link(mailing, first).status_code == 404
    assert open_link(mailing, link_in(mailbox.messages[-1])).status_code == 200
    assert mailing.post("/api/auth/verify-email/send", headers=headers).status_code == 409


def test_without_mail_there_is_no_link_to_ask_for(client: TestClient) -> None:
    signed = sign_up(client)
    response = client.post("/api/auth/verify-email/send", headers=bearer(signed["access_token"]))
    assert response.status_code == 404
