"""The WebDAV properties of each resource: the root, a principal, the calendar home, a
calendar and a calendar object; and which of them a request asks for."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from functools import partial

from todo_api.calendars.dav import collections as paths
from todo_api.calendars.dav.collections import Calendar
from todo_api.calendars.dav.objects import DavObject
from todo_api.calendars.dav.xml import APPLE, CALDAV, CALSERVER, DAV, Element, Value, element, href
from todo_api.calendars.dav.xml import tag as t

# A property's value, or how to work it out (only when asked for).
Prop = Value | Callable[[], Value]
Props = dict[str, Prop]

CONTENT_TYPE = "text/calendar; charset=utf-8; component=vtodo"
CALENDAR_DATA = t(CALDAV, "calendar-data")
# What `allprop` leaves out: what costs an object's rendering (RFC 4791 asks for it by name).
_NOT_IN_ALLPROP = frozenset({CALENDAR_DATA, t(DAV, "getcontentlength")})
_REPORTS = (t(CALDAV, "calendar-query"), t(CALDAV, "calendar-multiget"), t(DAV, "sync-collection"))
# The colours of the palette lists may have, as calendar apps show them.
_COLORS = {
    "red": "#e53935",
    "orange": "#fb8c00",
    "yellow": "#fdd835",
    "green": "#43a047",
    "teal": "#00897b",
    "blue": "#1e88e5",
    "purple": "#8e24aa",
    "pink": "#d81b60",
    "brown": "#6d4c41",
    "grey": "#757575",
}


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a PROPFIND or REPORT asks for: these properties, or all of them."""

    names: tuple[str, ...] | None  # None: all (`allprop`, or no body)

    def pick(self, path: str, props: Mapping[str, Prop]) -> tuple[str, dict[str, Value], list[str]]:
        """The resource's href, the wanted properties it has (worked out), and those it has not."""
        found: dict[str, Value] = {}
        missing: list[str] = []
        for name in self.asked(props):
            if name not in props:
                missing.append(name)
                continue
            value = props[name]
            found[name] = value() if callable(value) else value
        return path, found, missing

    def asked(self, props: Iterable[str]) -> tuple[str, ...]:
        """The names asked for, of a resource with these properties."""
        if self.names is None:  # `allprop` leaves out what costs the object's rendering
            return tuple(name for name in props if name not in _NOT_IN_ALLPROP)
        return self.names


def wanted(root: Element | None) -> Wanted:
    """The properties a `<d:propfind>` (or a report's `<d:prop>`) asks for."""
    if root is None:
        return Wanted(None)
    prop = root if root.tag == t(DAV, "prop") else root.find(t(DAV, "prop"))
    if prop is None:
        return Wanted(None)
    return Wanted(tuple(child.tag for child in prop))


def _resourcetype(*kinds: str) -> list[Element]:
    return [element(kind) for kind in kinds]


def _privileges(writable: bool) -> list[Element]:
    names = ["read", "read-current-user-privilege-set"]
    if writable:
        names += ["write", "write-content", "write-properties", "bind", "unbind"]
    return [element(t(DAV, "privilege"), children=[element(t(DAV, name))]) for name in names]


def _principal_link(user_id: str) -> list[Element]:
    return [href(paths.principal_path(user_id))]


def root_props(user_id: str) -> Props:
    """The service root: where the caller's principal is."""
    return {
        t(DAV, "resourcetype"): _resourcetype(t(DAV, "collection")),
        t(DAV, "current-user-principal"): _principal_link(user_id),
        t(DAV, "principal-URL"): _principal_link(user_id),
        t(CALDAV, "calendar-home-set"): [href(paths.home_path(user_id))],
    }


def principal_props(user_id: str) -> Props:
    """The caller's principal: where their calendars are."""
    return {
        t(DAV, "resourcetype"): _resourcetype(t(DAV, "collection"), t(DAV, "principal")),
        t(DAV, "displayname"): user_id,
        t(DAV, "current-user-principal"): _principal_link(user_id),
        t(DAV, "principal-URL"): _principal_link(user_id),
        t(CALDAV, "calendar-home-set"): [href(paths.home_path(user_id))],
        t(CALDAV, "calendar-user-address-set"): [],
    }


def home_props(user_id: str) -> Props:
    """The caller's calendar home: their calendars' collection."""
    return {
        t(DAV, "resourcetype"): _resourcetype(t(DAV, "collection")),
        t(DAV, "displayname"): "Calendars",
        t(DAV, "current-user-principal"): _principal_link(user_id),
        t(DAV, "owner"): _principal_link(user_id),
        t(DAV, "current-user-privilege-set"): _privileges(False),
    }


def calendar_props(user_id: str, calendar: Calendar, token: str | None) -> Props:
    """A calendar: a list (or the Inbox) as calendar apps show one."""
    props: Props = {
        t(DAV, "resourcetype"): _resourcetype(t(DAV, "collection"), t(CALDAV, "calendar")),
        t(DAV, "displayname"): calendar.name,
        t(DAV, "current-user-principal"): _principal_link(user_id),
        t(DAV, "owner"): [href(paths.principal_path(calendar.owner))],
        t(DAV, "current-user-privilege-set"): _privileges(calendar.writable),
        t(CALDAV, "supported-calendar-component-set"): [element(t(CALDAV, "comp"))],
        t(DAV, "supported-report-set"): [
            element(
                t(DAV, "supported-report"),
                children=[element(t(DAV, "report"), children=[element(name)])],
            )
            for name in _REPORTS
        ],
        t(DAV, "getcontenttype"): "text/calendar; charset=utf-8",
    }
    component = props[t(CALDAV, "supported-calendar-component-set")]
    assert isinstance(component, list)
    component[0].set("name", "VTODO")
    if token is not None:
        props[t(DAV, "sync-token")] = token
        props[t(CALSERVER, "getctag")] = token
    if calendar.color is not None:
        props[t(APPLE, "calendar-color")] = _COLORS.get(calendar.color, calendar.color)
    return props


# A calendar object's properties, each worked out from the object only when asked for.
_OBJECT_PROPS: dict[str, Callable[[DavObject], Value]] = {
    t(DAV, "resourcetype"): lambda obj: [],
    t(DAV, "getetag"): lambda obj: obj.etag,
    t(DAV, "getcontenttype"): lambda obj: CONTENT_TYPE,
    t(DAV, "getlastmodified"): lambda obj: format_datetime(
        obj.task["updated_at"].astimezone(UTC), usegmt=True
    ),
    t(DAV, "getcontentlength"): lambda obj: str(len(obj.ical())),
    CALENDAR_DATA: lambda obj: obj.ical().decode(),
}


def object_props(obj: DavObject) -> Props:
    """A calendar object: a task as a VTODO."""
    return {name: partial(get, obj) for name, get in _OBJECT_PROPS.items()}


ObjectPicker = Callable[[DavObject], tuple[dict[str, Value], list[str]]]


def object_picker(want: Wanted) -> ObjectPicker:
    """What `want.pick` gives for each object of a report (but its href), the names looked
    up once for them all."""
    names = want.asked(_OBJECT_PROPS)
    present = [(name, _OBJECT_PROPS[name]) for name in names if name in _OBJECT_PROPS]
    missing = [name for name in names if name not in _OBJECT_PROPS]

    def pick(obj: DavObject) -> tuple[dict[str, Value], list[str]]:
        return {name: get(obj) for name, get in present}, list(missing)

    return pick
