"""A report works out each object's properties with a picker made once for all of them
(`object_picker`), and writes their hrefs' names quoted only when they need it: both say what
the plain way (`Wanted.pick` of `object_props`, `quote`) says."""

from typing import cast
from urllib.parse import quote

import pytest

from tests.calendars.rows import TASK_ROW as TASK
from todo_api import tasks
from todo_api.calendars.dav.collections import quoted_name
from todo_api.calendars.dav.objects import DavObject
from todo_api.calendars.dav.properties import Wanted, object_picker, object_props

WANTS = {
    "allprop": None,
    "etag and data": ("{DAV:}getetag", "{urn:ietf:params:xml:ns:caldav}calendar-data"),
    "unknown and repeated": ("{x:}color", "{DAV:}getetag", "{x:}color", "{DAV:}getetag"),
    "every one": (
        "{DAV:}resourcetype",
        "{DAV:}getcontenttype",
        "{DAV:}getlastmodified",
        "{DAV:}getcontentlength",
    ),
    "nothing": (),
}


@pytest.mark.parametrize("names", WANTS.values(), ids=WANTS.keys())
def test_the_picker_finds_what_pick_finds(names: tuple[str, ...] | None) -> None:
    obj = DavObject(cast(tasks.TaskRow, TASK), None, None)
    want = Wanted(names)
    _, found, missing = want.pick("/x", object_props(obj))
    assert object_picker(want)(obj) == (found, missing)


@pytest.mark.parametrize(
    "name", ["7.ics", "A-b_c.d~e.ics", "My todo%20.ics", "a/b.ics", "Ünï.ics", "x?y#z.ics", ""]
)
def test_names_are_quoted_as_quote_quotes_them(name: str) -> None:
    assert quoted_name(name) == quote(name, safe="")
