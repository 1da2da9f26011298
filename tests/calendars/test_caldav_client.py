"""The `caldav` library against the service: discovery, calendars, todos written and read back
through REST, and sync-collection."""

from collections.abc import Callable

import caldav
from caldav.elements import dav

from tests.calendars.conftest import Rest, share

DavClient = Callable[[str], caldav.DAVClient]

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:{uid}
SUMMARY:{summary}
DUE;VALUE=DATE:20261224
PRIORITY:1
CATEGORIES:home,errands
{extra}END:VTODO
END:VCALENDAR
"""


def todo(uid: str, summary: str, extra: str = "") -> str:
    return TODO.format(uid=uid, summary=summary, extra=extra)


def calendar_named(client: caldav.DAVClient, name: str) -> caldav.Calendar:
    calendars = client.principal().calendars()
    return next(c for c in calendars if c.get_display_name() == name)


def test_a_client_given_the_bare_host_finds_the_inbox_and_every_list(
    dav_client: DavClient, rest: Rest
) -> None:
    rest("alice").post("/api/alice/lists", json={"name": "Groceries"})
    names = [c.get_display_name() for c in dav_client("alice").principal().calendars()]
    assert names == ["Inbox", "Groceries"]


def test_a_todo_created_by_the_client_is_a_task_through_rest(
    dav_client: DavClient, rest: Rest
) -> None:
    made = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    calendar = calendar_named(dav_client("alice"), "Home")
    parent = calendar.save_todo(todo("parent-1", "Clean the house"))
    calendar.save_todo(todo("child-1", "Vacuum", "RELATED-TO;RELTYPE=PARENT:parent-1\n"))
    tasks = rest("alice").get("/api/alice/tasks", params={"list_id": made["id"]}).json()
    by_title = {task["title"]: task for task in tasks}
    child = by_title["Vacuum"]
    assert child["due_date"] == "2026-12-24"
    assert child["priority"] == "high"
    assert child["tags"] == ["home", "errands"]
    assert child["parent_id"] == by_title["Clean the house"]["id"]
    assert parent.url is not None


def test_a_task_completed_through_rest_reads_completed_with_a_new_etag(
    dav_client: DavClient, rest: Rest
) -> None:
    task = rest("alice").post("/api/alice/tasks", json={"title": "Call the bank"}).json()
    calendar = calendar_named(dav_client("alice"), "Inbox")
    [before] = calendar.todos()
    before.load()
    etag_before = before.get_property(dav.GetEtag())
    done = rest("alice").patch(f"/api/alice/tasks/{task['id']}/complete")
    assert done.status_code == 200, done.text
    [after] = calendar.todos(include_completed=True)
    after.load()
    assert after.icalendar_component["STATUS"] == "COMPLETED"
    assert after.get_property(dav.GetEtag()) != etag_before


def test_a_todo_deleted_by_the_client_is_gone_from_rest(dav_client: DavClient, rest: Rest) -> None:
    task = rest("alice").post("/api/alice/tasks", json={"title": "Old"}).json()
    calendar = calendar_named(dav_client("alice"), "Inbox")
    [found] = calendar.todos()
    found.delete()
    assert rest("alice").get(f"/api/alice/tasks/{task['id']}").status_code == 404


def test_sync_collection_returns_exactly_what_changed_since_a_token(
    dav_client: DavClient, rest: Rest
) -> None:
    other = rest("alice").post("/api/alice/lists", json={"name": "Other"}).json()
    elsewhere = (
        rest("alice")
        .post("/api/alice/tasks", json={"title": "Elsewhere", "list_id": other["id"]})
        .json()
    )
    elsewhere_doomed = (
        rest("alice")
        .post("/api/alice/tasks", json={"title": "Doomed elsewhere", "list_id": other["id"]})
        .json()
    )
    leaving = rest("alice").post("/api/alice/tasks", json={"title": "Leaving"}).json()
    rest("alice").post("/api/alice/tasks", json={"title": "Kept"})
    changed = rest("alice").post("/api/alice/tasks", json={"title": "Changed"}).json()
    doomed = rest("alice").post("/api/alice/tasks", json={"title": "Doomed"}).json()
    calendar = calendar_named(dav_client("alice"), "Inbox")
    first = calendar.objects_by_sync_token(load_objects=False)
    assert len(list(first)) == 4
    rest("alice").put(f"/api/alice/tasks/{changed['id']}", json={"title": "Changed again"})
    rest("alice").delete(f"/api/alice/tasks/{doomed['id']}")
    added = rest("alice").post("/api/alice/tasks", json={"title": "Added"}).json()
    rest("alice").put(f"/api/alice/tasks/{leaving['id']}", json={"list_id": other["id"]})
    rest("alice").put(f"/api/alice/tasks/{elsewhere['id']}", json={"title": "Still elsewhere"})
    rest("alice").delete(f"/api/alice/tasks/{elsewhere_doomed['id']}")
    later = calendar.objects_by_sync_token(sync_token=first.sync_token, load_objects=False)
    hrefs = {str(obj.url).rsplit("/", 1)[-1] for obj in later}
    expected = {changed["id"], doomed["id"], added["id"], leaving["id"]}
    assert hrefs == {f"{task_id}.ics" for task_id in expected}


def test_a_todo_completed_by_the_client_is_completed_through_rest(
    dav_client: DavClient, rest: Rest
) -> None:
    task = rest("alice").post("/api/alice/tasks", json={"title": "Pay rent"}).json()
    [found] = calendar_named(dav_client("alice"), "Inbox").todos()
    found.complete()
    done = rest("alice").get(f"/api/alice/tasks/{task['id']}").json()
    assert done["completed"] is True
    assert done["completed_by"] == "alice"


def test_an_editor_syncs_the_owners_changes_to_a_shared_list(
    dav_client: DavClient, rest: Rest
) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    share(rest, home["id"], "bob", "editor")
    calendar = calendar_named(dav_client("bob"), "Home")
    first = calendar.objects_by_sync_token(load_objects=False)
    task = rest("alice").post("/api/alice/tasks", json={"title": "Fix", "list_id": home["id"]})
    later = calendar.objects_by_sync_token(sync_token=first.sync_token, load_objects=True)
    [obj] = list(later)
    assert str(obj.url).endswith(f"/list-{home['id']}/{task.json()['id']}.ics")
    assert obj.icalendar_component["SUMMARY"] == "Fix"
    calendar.save_todo(todo("bob-1", "Bob's idea"))
    titles = {t["title"] for t in rest("alice").get("/api/alice/tasks").json()}
    assert titles == {"Fix", "Bob's idea"}
