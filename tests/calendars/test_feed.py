"""The calendar feed of due dates, read as a calendar app reads it (parsed with `icalendar`):
the user's pending tasks with a due date, all-day or timed, theirs and their shared lists'."""

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.accounts.app_passwords.helpers import make_password
from tests.conftest import Headers

FEED = "/api/alice/calendar.ics"


def _feed(client: TestClient, owner: Headers, user: str = "alice") -> str:
    return make_password(client, owner, ["feed"], user=user)["password"]


def _events(client: TestClient, token: str, user: str = "alice") -> dict[str, object]:
    response = client.get(f"/api/{user}/calendar.ics", params={"token": token})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0"
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def test_an_all_day_task_ends_the_next_day(client: TestClient, alice: Headers, create_task) -> None:
    task = create_task("Pay rent", description="Transfer to landlord", due_date="2026-12-31")
    events = _events(client, _feed(client, alice))
    event = events["Pay rent"]
    assert event["UID"] == f"task-{task['id']}@todo-api"
    assert event.decoded("DTSTART") == date(2026, 12, 31)
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert event.decoded("DTEND") == date(2027, 1, 1)
    assert str(event["DESCRIPTION"]) == "Transfer to landlord"
    # iCalendar has whole seconds.
    updated = datetime.fromisoformat(task["updated_at"]).replace(microsecond=0)
    assert event.decoded("LAST-MODIFIED") == updated


def test_a_timed_task_is_at_its_due_time_in_utc(
    client: TestClient, alice: Headers, create_task
) -> None:
    create_task("Call the bank", due_at="2026-12-24T09:30:00+02:00")
    event = _events(client, _feed(client, alice))["Call the bank"]
    start = event.decoded("DTSTART")
    assert start == datetime(2026, 12, 24, 7, 30, tzinfo=UTC)
    assert start.utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == start


def test_only_pending_tasks_with_a_due_date_appear(
    client: TestClient, alice: Headers, create_task
) -> None:
    create_task("No date")
    done = create_task("Done already", due_date="2026-12-01")
    client.patch(f"/api/alice/tasks/{done['id']}/complete", headers=alice)
    create_task("Still due", due_date="2026-12-02")
    assert set(_events(client, _feed(client, alice))) == {"Still due"}


def test_the_uid_is_stable_across_fetches(client: TestClient, alice: Headers, create_task) -> None:
    create_task("Pay rent", due_date="2026-12-31")
    token = _feed(client, alice)
    first = _events(client, token)["Pay rent"]["UID"]
    assert _events(client, token)["Pay rent"]["UID"] == first


def test_tasks_of_a_list_shared_with_the_user_appear(
    client: TestClient, alice: Headers, bob: Headers, create_task
) -> None:
    shared = client.post("/api/bob/lists", json={"name": "Home"}, headers=bob).json()
    invitation = client.post(
        f"/api/bob/lists/{shared['id']}/invitations", json={"role": "viewer"}, headers=bob
    ).json()
    joined = client.post(
        "/api/alice/invitations/accept", json={"token": invitation["token"]}, headers=alice
    )
    assert joined.status_code == 200, joined.text
    create_task("Bob's chore", headers=bob, user="bob", list_id=shared["id"], due_date="2026-12-20")
    create_task("Bob's own", headers=bob, user="bob", due_date="2026-12-20")
    create_task("Alice's", due_date="2026-12-21")
    assert set(_events(client, _feed(client, alice))) == {"Bob's chore", "Alice's"}


def test_an_empty_feed_is_a_calendar(client: TestClient, alice: Headers) -> None:
    assert _events(client, _feed(client, alice)) == {}


def test_text_is_escaped(client: TestClient, alice: Headers, create_task) -> None:
    create_task("Milk, eggs; bread\\", description="line one\nline two", due_date="2026-12-05")
    event = _events(client, _feed(client, alice))["Milk, eggs; bread\\"]
    assert str(event["DESCRIPTION"]) == "line one\nline two"
