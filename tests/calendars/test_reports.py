"""REPORTs as clients send them: calendar-multiget by href, and calendar-query's filters."""

from collections.abc import Callable
from xml.etree import ElementTree as ET

import httpx2 as httpx

from tests.calendars.conftest import Rest

DavHttp = Callable[[str], httpx.Client]
D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
INBOX = "/dav/calendars/alice/inbox/"
MULTIGET = """<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"""
PENDING = b"""<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO">
<c:prop-filter name="COMPLETED"><c:is-not-defined/></c:prop-filter>
<c:prop-filter name="STATUS"><c:text-match negate-condition="yes">CANCELLED</c:text-match>
</c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"""
EVENTS = b"""<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">
<c:comp-filter name="VEVENT"/></c:comp-filter></c:filter></c:calendar-query>"""


def report(client: httpx.Client, path: str, body: bytes) -> dict[str, ET.Element]:
    response = client.request("REPORT", path, content=body, headers={"Depth": "1"})
    assert response.status_code == 207, response.text
    return {
        r.findtext(f"{D}href"): r for r in ET.fromstring(response.content).findall(f"{D}response")
    }


def test_multiget_returns_the_named_todos_and_404_for_the_rest(
    dav_http: DavHttp, rest: Rest
) -> None:
    ids = [
        rest("alice").post("/api/alice/tasks", json={"title": f"T{i}"}).json()["id"]
        for i in range(3)
    ]
    hrefs = [f"{INBOX}{task_id}.ics" for task_id in ids[:2]] + [f"{INBOX}999999.ics"]
    body = MULTIGET.format(hrefs="".join(f"<d:href>{h}</d:href>" for h in hrefs)).encode()
    found = report(dav_http("alice"), INBOX, body)
    assert set(found) == set(hrefs)
    assert "SUMMARY:T0" in found[hrefs[0]].findtext(f".//{C}calendar-data")
    assert found[hrefs[0]].findtext(f".//{D}getetag").startswith('"1-')
    assert "404" in found[hrefs[2]].findtext(f"{D}status")


def test_multiget_finds_a_todo_by_the_name_its_client_gave_and_not_by_its_task_id(
    dav_http: DavHttp, rest: Rest
) -> None:
    dav = dav_http("alice")
    todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\n"
    todo += "UID:sent-1\r\nSUMMARY:Sent\r\nX-KEPT:yes\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    assert dav.put(f"{INBOX}sent.ics", content=todo).status_code == 201
    [sent] = rest("alice").get("/api/alice/tasks").json()
    plain = rest("alice").post("/api/alice/tasks", json={"title": "Plain"}).json()
    listed = rest("alice").post("/api/alice/lists", json={"name": "Work"}).json()
    elsewhere = rest("alice").post("/api/alice/tasks", json={"title": "X", "list_id": listed["id"]})
    hrefs = [f"{INBOX}{name}" for name in ("sent.ics", f"{plain['id']}.ics")]
    gone = [f"{INBOX}{task_id}.ics" for task_id in (sent["id"], elsewhere.json()["id"])]
    body = MULTIGET.format(hrefs="".join(f"<d:href>{h}</d:href>" for h in hrefs + gone)).encode()
    found = report(dav, INBOX, body)
    assert "X-KEPT:yes" in found[hrefs[0]].findtext(f".//{C}calendar-data")
    assert "SUMMARY:Plain" in found[hrefs[1]].findtext(f".//{C}calendar-data")
    assert all("404" in found[href].findtext(f"{D}status") for href in gone)


def test_multiget_takes_hrefs_as_urls_and_as_encoded_paths(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    task_id = str(rest("alice").post("/api/alice/tasks", json={"title": "T"}).json()["id"])
    hrefs = [
        f"{dav.base_url}{INBOX}{task_id}.ics",
        f" {INBOX}%3{task_id[0]}{task_id[1:]}.ics ",
        f"{INBOX}{task_id}.ics?x=1#y",
        f"{INBOX}{task_id}.ics/",
    ]
    body = MULTIGET.format(hrefs="".join(f"<d:href>{h}</d:href>" for h in hrefs)).encode()
    response = dav.request("REPORT", INBOX, content=body, headers={"Depth": "1"})
    answers = ET.fromstring(response.content).findall(f"{D}response")
    assert [a.findtext(f"{D}href") for a in answers] == [f"{INBOX}{task_id}.ics"] * 3 + [hrefs[3]]
    assert [a.findtext(f"{D}status") is None for a in answers] == [True, True, True, False]


def test_a_query_for_pending_todos_leaves_out_completed_ones(dav_http: DavHttp, rest: Rest) -> None:
    open_task = rest("alice").post("/api/alice/tasks", json={"title": "Open"}).json()
    rest("alice").post("/api/alice/tasks", json={"title": "Done", "completed": True})
    assert set(report(dav_http("alice"), INBOX, PENDING)) == {f"{INBOX}{open_task['id']}.ics"}


def test_a_query_for_events_finds_none(dav_http: DavHttp, rest: Rest) -> None:
    rest("alice").post("/api/alice/tasks", json={"title": "Open"})
    assert report(dav_http("alice"), INBOX, EVENTS) == {}


def test_a_sync_reports_etags_are_the_objects(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    cursor = rest("alice").get("/api/alice/tasks").headers["X-Changes-Cursor"]
    task = rest("alice").post("/api/alice/tasks", json={"title": "New"}).json()
    rest("alice").patch(f"/api/alice/tasks/{task['id']}", json={"title": "Renamed"})
    for prop in ("<d:getetag/>", "<d:getetag/><c:calendar-data/>"):
        body = (
            '<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f"<d:sync-token>urn:todo-api:sync:{cursor}</d:sync-token><d:sync-level>1</d:sync-level>"
            f"<d:prop>{prop}</d:prop></d:sync-collection>"
        ).encode()
        found = report(dav, INBOX, body)
        href = f"{INBOX}{task['id']}.ics"
        assert set(found) == {href}
        assert found[href].findtext(f".//{D}getetag") == dav.get(href).headers["ETag"]


def test_a_sync_report_names_todos_by_the_names_their_client_gave(
    dav_http: DavHttp, rest: Rest
) -> None:
    dav = dav_http("alice")
    for name in ("kept", "gone"):
        todo = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:{name}"
        todo += f"\r\nSUMMARY:{name}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        assert dav.put(f"{INBOX}{name}.ics", content=todo).status_code == 201
    cursor = rest("alice").get("/api/alice/tasks").headers["X-Changes-Cursor"]
    tasks = {task["title"]: task["id"] for task in rest("alice").get("/api/alice/tasks").json()}
    rest("alice").patch(f"/api/alice/tasks/{tasks['kept']}", json={"title": "Renamed"})
    rest("alice").delete(f"/api/alice/tasks/{tasks['gone']}")
    body = (
        '<d:sync-collection xmlns:d="DAV:"><d:sync-level>1</d:sync-level>'
        f"<d:sync-token>urn:todo-api:sync:{cursor}</d:sync-token><d:prop><d:getetag/></d:prop>"
        "</d:sync-collection>"
    ).encode()
    found = report(dav, INBOX, body)
    assert set(found) == {f"{INBOX}kept.ics", f"{INBOX}gone.ics"}
    etag = found[f"{INBOX}kept.ics"].findtext(f".//{D}getetag")
    assert etag == dav.get(f"{INBOX}kept.ics").headers["ETag"]
    assert "404" in found[f"{INBOX}gone.ics"].findtext(f"{D}status")
