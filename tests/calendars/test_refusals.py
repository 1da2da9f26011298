"""What CalDAV refuses, as an attacker or a broken client would try it: bad iCalendar, XML
with entities, writes beyond a role, other users' calendars, and credentials that are not
(or no longer) valid."""

import base64
import logging
from collections.abc import Callable

import httpx2 as httpx
import pytest

from tests.calendars.conftest import Rest, new_password, share

DavHttp = Callable[[str], httpx.Client]
INBOX = "/dav/calendars/alice/inbox"
TODO = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:{uid}\r\n"
    "SUMMARY:Buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
)
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d:propfind [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:propfind>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol3;</d:displayname></d:prop></d:propfind>"""


def propfind(client: httpx.Client, path: str, body: bytes = b"", depth: str = "0"):
    return client.request("PROPFIND", path, content=body, headers={"Depth": depth})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not a calendar", "not iCalendar data"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "exactly one VTODO"),
        (TODO.replace("UID:{uid}\r\n", ""), "UID"),
        (TODO.replace("SUMMARY:Buy milk", "DUE:tomorrow"), "Wrong date format"),
        (TODO.replace("Buy milk", "x" * 300), "title"),
    ],
)
def test_malformed_icalendar_is_refused_with_its_reason(
    dav_http: DavHttp, rest: Rest, body: str, reason: str
) -> None:
    response = dav_http("alice").put(f"{INBOX}/bad.ics", content=body.format(uid="u1"))
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert rest("alice").get("/api/alice/tasks").json() == []


@pytest.mark.parametrize("body", [XXE, LAUGHS], ids=["external entity", "entity expansion"])
def test_xml_with_entities_is_refused(dav_http: DavHttp, body: bytes) -> None:
    response = propfind(dav_http("alice"), INBOX, body)
    assert response.status_code == 400
    assert "root:" not in response.text


def test_malformed_xml_is_refused(dav_http: DavHttp) -> None:
    assert propfind(dav_http("alice"), INBOX, b"<d:propfind xmlns:d='DAV:'>").status_code == 400


def test_a_viewers_write_is_forbidden(dav_http: DavHttp, rest: Rest) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    task = rest("alice").post("/api/alice/tasks", json={"title": "Fix", "list_id": home["id"]})
    share(rest, home["id"], "carol", "viewer")
    carol = dav_http("carol")
    calendar = f"/dav/calendars/carol/list-{home['id']}"
    assert carol.get(f"{calendar}/{task.json()['id']}.ics").status_code == 200
    put = carol.put(f"{calendar}/new.ics", content=TODO.format(uid="c1"))
    assert put.status_code == 403
    assert carol.delete(f"{calendar}/{task.json()['id']}.ics").status_code == 403
    assert len(rest("alice").get("/api/alice/tasks").json()) == 1


def test_an_editor_writes_the_owners_list(dav_http: DavHttp, rest: Rest) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    share(rest, home["id"], "bob", "editor")
    put = dav_http("bob").put(
        f"/dav/calendars/bob/list-{home['id']}/new.ics", content=TODO.format(uid="b1")
    )
    assert put.status_code == 201, put.text
    [task] = rest("alice").get("/api/alice/tasks").json()
    assert (task["user_id"], task["created_by"]) == ("alice", "bob")


def test_another_users_calendars_are_not_found(dav_http: DavHttp, rest: Rest) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    task = rest("alice").post("/api/alice/tasks", json={"title": "Mine", "list_id": home["id"]})
    dave = dav_http("dave")
    for path in (
        f"/dav/calendars/dave/list-{home['id']}",
        f"/dav/calendars/alice/list-{home['id']}",
        "/dav/calendars/alice/inbox",
        "/dav/principals/alice",
    ):
        assert propfind(dave, path).status_code == 404, path
    stolen = f"/dav/calendars/dave/list-{home['id']}/{task.json()['id']}.ics"
    assert dave.get(stolen).status_code == 404
    assert dave.put(stolen, content=TODO.format(uid="d1")).status_code == 404
    assert dave.delete(stolen).status_code == 404
    assert dave.get(f"/dav/calendars/dave/inbox/{task.json()['id']}.ics").status_code == 404


def test_a_revoked_app_password_is_refused(base_url: str, rest: Rest) -> None:
    made = new_password(rest, "alice")
    with httpx.Client(base_url=base_url, auth=("alice", made["password"])) as dav:
        assert propfind(dav, INBOX).status_code == 207
        revoked = rest("alice").delete(f"/api/alice/app-passwords/{made['id']}")
        assert revoked.status_code == 204
        response = propfind(dav, INBOX)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("scopes", [["read"], ["feed"]])
def test_a_password_of_another_scope_is_refused(
    base_url: str, rest: Rest, scopes: list[str]
) -> None:
    made = new_password(rest, "alice", scopes)
    with httpx.Client(base_url=base_url, auth=("alice", made["password"])) as dav:
        assert propfind(dav, INBOX).status_code == 401


def test_no_credentials_are_asked_for_as_basic(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as anonymous:
        for response in (propfind(anonymous, "/"), propfind(anonymous, INBOX)):
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith('Basic realm="todo-api"')


def test_a_stale_write_fails_its_precondition(dav_http: DavHttp) -> None:
    dav = dav_http("alice")
    first = dav.put(f"{INBOX}/a.ics", content=TODO.format(uid="a"), headers={"If-None-Match": "*"})
    assert first.status_code == 201
    etag = first.headers["ETag"]
    assert dav.get(f"{INBOX}/a.ics").headers["ETag"] == etag
    again = dav.put(f"{INBOX}/a.ics", content=TODO.format(uid="a"), headers={"If-None-Match": "*"})
    assert again.status_code == 412
    stale = dav.put(f"{INBOX}/a.ics", content=TODO.format(uid="a"), headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    fresh = dav.put(f"{INBOX}/a.ics", content=TODO.format(uid="a"), headers={"If-Match": etag})
    assert fresh.status_code == 204
    assert dav.get(f"{INBOX}/a.ics").headers["ETag"] != etag


def test_a_body_too_large_is_refused(dav_http: DavHttp) -> None:
    body = TODO.format(uid="big").replace("SUMMARY:Buy milk", "X-BIG:" + "x" * 300_000)
    assert dav_http("alice").put(f"{INBOX}/big.ics", content=body).status_code == 413


def test_the_app_password_never_reaches_the_log(
    base_url: str, rest: Rest, caplog: pytest.LogCaptureFixture
) -> None:
    password = new_password(rest, "alice")["password"]
    encoded = base64.b64encode(f"alice:{password}".encode()).decode()
    with caplog.at_level(logging.DEBUG), httpx.Client(base_url=base_url) as dav:
        for secret in (password, "wrong"):
            propfind(dav, INBOX)
            dav.put(f"{INBOX}/bad.ics", content="garbage", auth=("alice", secret))
    assert caplog.text
    assert password not in caplog.text
    assert encoded not in caplog.text


def test_a_second_todo_with_the_same_uid_is_a_conflict(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    assert dav.put(f"{INBOX}/one.ics", content=TODO.format(uid="same")).status_code == 201
    assert dav.put(f"{INBOX}/two.ics", content=TODO.format(uid="same")).status_code == 409
    assert len(rest("alice").get("/api/alice/tasks").json()) == 1


def test_properties_are_not_set_over_webdav(dav_http: DavHttp) -> None:
    body = (
        b'<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>New</d:displayname>'
        b"</d:prop></d:set></d:propertyupdate>"
    )
    response = dav_http("alice").request("PROPPATCH", INBOX, content=body)
    assert response.status_code == 207
    assert "403 Forbidden" in response.text
    assert "displayname" in response.text


def test_an_event_is_refused(dav_http: DavHttp) -> None:
    event = TODO.format(uid="e1").replace("VTODO", "VEVENT")
    response = dav_http("alice").put(f"{INBOX}/event.ics", content=event)
    assert response.status_code == 400


def test_a_calendar_that_does_not_exist_is_not_found(dav_http: DavHttp) -> None:
    dav = dav_http("alice")
    for calendar in ("list-999999", "list-x", "events"):
        path = f"/dav/calendars/alice/{calendar}/a.ics"
        assert dav.put(path, content=TODO.format(uid="x")).status_code == 404, calendar


def test_a_stale_delete_fails_its_precondition(dav_http: DavHttp, rest: Rest) -> None:
    dav = dav_http("alice")
    assert dav.put(f"{INBOX}/a.ics", content=TODO.format(uid="a")).status_code == 201
    etag = dav.get(f"{INBOX}/a.ics").headers["ETag"]
    [task] = rest("alice").get("/api/alice/tasks").json()
    rest("alice").patch(f"/api/alice/tasks/{task['id']}", json={"title": "Changed"})
    assert dav.delete(f"{INBOX}/a.ics", headers={"If-Match": etag}).status_code == 412
    assert len(rest("alice").get("/api/alice/tasks").json()) == 1
