"""Finding the calendars as clients do: RFC 6764's well-known path, the principal from `/`,
the calendar home, and each calendar's properties."""

from collections.abc import Callable
from xml.etree import ElementTree as ET

import httpx2 as httpx

from tests.calendars.conftest import Rest, share

DavHttp = Callable[[str], httpx.Client]
D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
PRINCIPAL = (
    b"""<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"""
)


def propfind(client: httpx.Client, path: str, body: bytes = b"", depth: str = "0"):
    response = client.request("PROPFIND", path, content=body, headers={"Depth": depth})
    assert response.status_code == 207, response.text
    return ET.fromstring(response.content)


def test_the_well_known_path_redirects_to_the_service(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        response = client.get("/.well-known/caldav")
    assert response.status_code == 301
    assert response.headers["Location"] == "/dav/"


def test_options_says_calendar_access(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        response = client.options("/dav/calendars/alice/inbox/")
    assert "calendar-access" in response.headers["DAV"]
    assert "REPORT" in response.headers["Allow"]


def test_propfind_on_the_host_names_the_callers_principal(dav_http: DavHttp) -> None:
    root = propfind(dav_http("alice"), "/", PRINCIPAL)
    assert root.findtext(f".//{D}current-user-principal/{D}href") == "/dav/principals/alice/"


def test_the_principal_names_the_calendar_home(dav_http: DavHttp) -> None:
    root = propfind(dav_http("alice"), "/dav/principals/alice/")
    assert root.findtext(f".//{C}calendar-home-set/{D}href") == "/dav/calendars/alice/"


def test_the_home_lists_each_calendar_with_the_callers_privileges(
    dav_http: DavHttp, rest: Rest
) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home", "color": "green"}).json()
    share(rest, home["id"], "carol", "viewer")
    root = propfind(dav_http("carol"), "/dav/calendars/carol/", depth="1")
    calendars = {
        r.findtext(f"{D}href"): r
        for r in root.findall(f"{D}response")
        if r.find(f".//{C}calendar") is not None
    }
    assert set(calendars) == {
        "/dav/calendars/carol/inbox/",
        f"/dav/calendars/carol/list-{home['id']}/",
    }
    shared = calendars[f"/dav/calendars/carol/list-{home['id']}/"]
    assert shared.findtext(f".//{D}displayname") == "Home"
    assert shared.find(f".//{C}comp").get("name") == "VTODO"
    privileges = {
        p[0].tag for p in shared.findall(f".//{D}current-user-privilege-set/{D}privilege")
    }
    assert f"{D}read" in privileges
    assert f"{D}write" not in privileges
    assert shared.findtext(f".//{D}sync-token").startswith("urn:todo-api:sync:")
    inbox = calendars["/dav/calendars/carol/inbox/"]
    own = {p[0].tag for p in inbox.findall(f".//{D}current-user-privilege-set/{D}privilege")}
    assert f"{D}write" in own


def test_a_calendar_lists_its_todos_with_their_etags(dav_http: DavHttp, rest: Rest) -> None:
    task = rest("alice").post("/api/alice/tasks", json={"title": "One"}).json()
    root = propfind(dav_http("alice"), "/dav/calendars/alice/inbox/", depth="1")
    etags = {
        r.findtext(f"{D}href"): r.findtext(f".//{D}getetag") for r in root.findall(f"{D}response")
    }
    assert etags[f"/dav/calendars/alice/inbox/{task['id']}.ics"].startswith(f'"{task["version"]}-')
