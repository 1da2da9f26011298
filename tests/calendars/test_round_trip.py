"""What a client sends comes back: properties and alarms the service does not model survive a
round trip, and a REST edit of the modelled fields keeps them."""

from collections.abc import Callable

import httpx2 as httpx
from icalendar import Calendar

from tests.calendars.conftest import Rest

DavHttp = Callable[[str], httpx.Client]
INBOX = "/dav/calendars/alice/inbox"

RICH = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Apple Inc.//Reminders//EN\r
X-WR-CALNAME:Mine\r
BEGIN:VTODO\r
UID:9F2C1A6E-1111-4E3B-9C55-ROUNDTRIP\r
SUMMARY:Renew passport\r
DESCRIPTION:Bring two photos\r
DUE:20261224T090000Z\r
PRIORITY:3\r
CATEGORIES:papers\r
X-APPLE-SORT-ORDER:723456789\r
X-MOZ-GENERATION:4\r
X-CUSTOM-FLAG;X-PARAM=1:kept as sent\r
ATTACH:https://example.com/form.pdf\r
RRULE:FREQ=MONTHLY;BYDAY=1MO\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:Soon\r
TRIGGER;RELATED=END:-PT30M\r
X-WR-ALARMUID:alarm-one\r
END:VALARM\r
BEGIN:VALARM\r
ACTION:AUDIO\r
TRIGGER;VALUE=DATE-TIME:20261223T090000Z\r
X-WR-ALARMUID:alarm-two\r
END:VALARM\r
END:VTODO\r
END:VCALENDAR\r
"""


def todo_of(body: bytes):
    return next(c for c in Calendar.from_ical(body).subcomponents if c.name == "VTODO")


def put_rich(dav: httpx.Client) -> httpx.Response:
    response = dav.put(f"{INBOX}/passport.ics", content=RICH, headers={"If-None-Match": "*"})
    assert response.status_code == 201, response.text
    return response


def test_unknown_properties_and_both_alarms_come_back(dav_http: DavHttp) -> None:
    dav = dav_http("alice")
    put_rich(dav)
    todo = todo_of(dav.get(f"{INBOX}/passport.ics").content)
    assert str(todo["X-CUSTOM-FLAG"]) == "kept as sent"
    assert todo["X-CUSTOM-FLAG"].params["X-PARAM"] == "1"
    assert str(todo["X-MOZ-GENERATION"]) == "4"
    assert str(todo["ATTACH"]) == "https://example.com/form.pdf"
    assert todo["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=1MO"
    assert int(todo["PRIORITY"]) == 3
    alarms = [c for c in todo.subcomponents if c.name == "VALARM"]
    assert [str(a["X-WR-ALARMUID"]) for a in alarms] == ["alarm-one", "alarm-two"]


def test_the_modelled_fields_are_the_tasks(dav_http: DavHttp, rest: Rest) -> None:
    put_rich(dav_http("alice"))
    [task] = rest("alice").get("/api/alice/tasks").json()
    assert task["title"] == "Renew passport"
    assert task["description"] == "Bring two photos"
    assert task["due_at"] == "2026-12-24T09:00:00Z"
    assert task["priority"] == "high"
    assert task["tags"] == ["papers"]
    # A rule the service cannot repeat is kept for the client, not guessed at.
    assert task["recurrence"] is None
    assert [(r["before_minutes"], r["at"]) for r in task["reminders"]] == [
        (30, None),
        (None, "2026-12-23T09:00:00Z"),
    ]


def test_a_rest_edit_changes_its_fields_and_keeps_the_rest(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    put_rich(dav)
    before = dav.get(f"{INBOX}/passport.ics").headers["ETag"]
    [task] = rest("alice").get("/api/alice/tasks").json()
    edited = rest("alice").patch(
        f"/api/alice/tasks/{task['id']}", json={"title": "Renew both passports", "priority": "low"}
    )
    assert edited.status_code == 200, edited.text
    response = dav.get(f"{INBOX}/passport.ics")
    assert response.headers["ETag"] != before
    todo = todo_of(response.content)
    assert str(todo["SUMMARY"]) == "Renew both passports"
    assert int(todo["PRIORITY"]) == 9
    assert str(todo["X-CUSTOM-FLAG"]) == "kept as sent"
    assert str(todo["DESCRIPTION"]) == "Bring two photos"
    assert len([c for c in todo.subcomponents if c.name == "VALARM"]) == 2


def test_a_client_rewriting_the_todo_replaces_what_it_had_sent(dav_http: DavHttp) -> None:
    dav = dav_http("alice")
    put_rich(dav)
    etag = dav.get(f"{INBOX}/passport.ics").headers["ETag"]
    rewritten = RICH.replace("X-CUSTOM-FLAG;X-PARAM=1:kept as sent\r\n", "")
    response = dav.put(f"{INBOX}/passport.ics", content=rewritten, headers={"If-Match": etag})
    assert response.status_code == 204, response.text
    todo = todo_of(dav.get(f"{INBOX}/passport.ics").content)
    assert "X-CUSTOM-FLAG" not in todo
    assert str(todo["UID"]) == "9F2C1A6E-1111-4E3B-9C55-ROUNDTRIP"


def test_a_rest_task_has_a_stable_uid_and_name(dav_http: DavHttp, rest: Rest) -> None:
    task = rest("alice").post("/api/alice/tasks", json={"title": "From REST"}).json()
    dav = dav_http("alice")
    first = todo_of(dav.get(f"{INBOX}/{task['id']}.ics").content)
    rest("alice").patch(f"/api/alice/tasks/{task['id']}", json={"title": "Edited"})
    second = todo_of(dav.get(f"{INBOX}/{task['id']}.ics").content)
    assert str(first["UID"]) == str(second["UID"]) == f"task-{task['id']}@todo-api"


def test_a_child_link_on_the_parent_is_kept_and_never_read_as_its_parent(
    dav_http: DavHttp, rest: Rest
) -> None:
    dav = dav_http("alice")
    parent = RICH.replace(
        "X-CUSTOM-FLAG;X-PARAM=1:kept as sent\r\n", "RELATED-TO;RELTYPE=CHILD:kid\r\n"
    )
    assert dav.put(f"{INBOX}/parent.ics", content=parent).status_code == 201
    [task] = rest("alice").get("/api/alice/tasks").json()
    assert task["parent_id"] is None
    todo = todo_of(dav.get(f"{INBOX}/parent.ics").content)
    assert str(todo["RELATED-TO"]) == "kid"
    assert todo["RELATED-TO"].params["RELTYPE"] == "CHILD"


def test_a_new_task_never_inherits_what_was_sent_for_a_deleted_one(
    dav_http: DavHttp, rest: Rest
) -> None:
    dav = dav_http("alice")
    put_rich(dav)
    [old] = rest("alice").get("/api/alice/tasks").json()
    assert rest("alice").delete(f"/api/alice/tasks/{old['id']}").status_code == 204
    new = rest("alice").post("/api/alice/tasks", json={"title": "Fresh"}).json()
    assert dav.get(f"{INBOX}/passport.ics").status_code == 404
    todo = todo_of(dav.get(f"{INBOX}/{new['id']}.ics").content)
    assert str(todo["SUMMARY"]) == "Fresh"
    assert "X-CUSTOM-FLAG" not in todo


def test_a_name_with_spaces_and_percent_signs_is_kept(dav_http: DavHttp) -> None:
    dav = dav_http("alice")
    path = f"{INBOX}/My%20todo%2520.ics"
    assert dav.put(path, content=RICH).status_code == 201
    assert dav.get(path).status_code == 200
    listing = dav.request("PROPFIND", f"{INBOX}/", headers={"Depth": "1"})
    assert f"{INBOX}/My%20todo%2520.ics" in listing.text


def test_a_parent_the_calendar_does_not_hold_is_kept_as_sent(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    orphan = RICH.replace("X-CUSTOM-FLAG;X-PARAM=1:kept as sent\r\n", "RELATED-TO:not-here\r\n")
    assert dav.put(f"{INBOX}/orphan.ics", content=orphan).status_code == 201
    [task] = rest("alice").get("/api/alice/tasks").json()
    assert task["parent_id"] is None
    assert str(todo_of(dav.get(f"{INBOX}/orphan.ics").content)["RELATED-TO"]) == "not-here"


def test_a_subtask_made_through_rest_names_its_parents_uid(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    put_rich(dav)
    [parent] = rest("alice").get("/api/alice/tasks").json()
    child = rest("alice").post(
        "/api/alice/tasks", json={"title": "Photos", "parent_id": parent["id"]}
    )
    link = todo_of(dav.get(f"{INBOX}/{child.json()['id']}.ics").content)["RELATED-TO"]
    assert str(link) == "9F2C1A6E-1111-4E3B-9C55-ROUNDTRIP"
    assert link.params["RELTYPE"] == "PARENT"


def order_of(dav: httpx.Client, path: str) -> int:
    return int(str(todo_of(dav.get(path).content)["X-APPLE-SORT-ORDER"]))


def test_the_sort_order_follows_the_tasks_order(dav_http: DavHttp, rest: Rest) -> None:
    ids = [rest("alice").post("/api/alice/tasks", json={"title": t}).json()["id"] for t in "ABC"]
    dav = dav_http("alice")
    orders = [order_of(dav, f"{INBOX}/{task_id}.ics") for task_id in ids]
    assert orders == sorted(orders)
    moved = rest("alice").post(f"/api/alice/tasks/{ids[2]}/move", json={"after_id": ids[0]})
    assert moved.status_code == 200, moved.text
    after = {task_id: order_of(dav, f"{INBOX}/{task_id}.ics") for task_id in ids}
    assert after[ids[0]] < after[ids[2]] < after[ids[1]]


def test_a_sort_order_sent_by_a_client_moves_the_task(dav_http: DavHttp, rest: Rest) -> None:
    ids = [rest("alice").post("/api/alice/tasks", json={"title": t}).json()["id"] for t in "ABC"]
    dav = dav_http("alice")
    first, second, _ = (order_of(dav, f"{INBOX}/{task_id}.ics") for task_id in ids)
    path = f"{INBOX}/{ids[2]}.ics"
    response = dav.get(path)
    body = response.text.replace(
        f"X-APPLE-SORT-ORDER:{order_of(dav, path)}", f"X-APPLE-SORT-ORDER:{(first + second) // 2}"
    )
    put = dav.put(path, content=body, headers={"If-Match": response.headers["ETag"]})
    assert put.status_code == 204, put.text
    listed = rest("alice").get("/api/alice/tasks", params={"sort": "position"}).json()
    assert [task["title"] for task in listed] == ["A", "C", "B"]
    assert (
        order_of(dav, f"{INBOX}/{ids[0]}.ics")
        < order_of(dav, path)
        < order_of(dav, f"{INBOX}/{ids[1]}.ics")
    )
