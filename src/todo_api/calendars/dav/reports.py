"""REPORTs on a calendar: `calendar-query` (its todos, filtered as RFC 4791 says, for the
filters clients send), `calendar-multiget` (todos by href) and `sync-collection` (RFC 6578:
what changed since a sync token, read from the caller's change log)."""

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import cast
from urllib.parse import unquote, urlsplit

from icalendar import Calendar as ICalendar
from icalendar import Component

from todo_api import sync, tasks
from todo_api.calendars.dav import collections as paths
from todo_api.calendars.dav import objects, repository
from todo_api.calendars.dav.collections import Calendar
from todo_api.calendars.dav.errors import InvalidSyncToken
from todo_api.calendars.dav.models import ObjectRow
from todo_api.calendars.dav.objects import DavObject
from todo_api.calendars.dav.properties import Wanted, object_picker, wanted
from todo_api.calendars.dav.xml import CALDAV, DAV, Element, Response, tag
from todo_api.core.database import Database

TOKEN_PREFIX = "urn:todo-api:sync:"
# The most changes one sync report reads from the log.
_SYNC_LIMIT = 1000


def sync_token(cursor: sync.ChangeCursor) -> str:
    """A change log cursor as a sync token (a URI, as RFC 6578 asks)."""
    return f"{TOKEN_PREFIX}{cursor.encode()}"


def _responses(
    user_id: str, calendar: Calendar, found: Iterable[DavObject], want: Wanted
) -> list[Response]:
    parent, pick = paths.calendar_path(user_id, calendar), object_picker(want)
    return [Response(parent + paths.quoted_name(obj.name), *pick(obj)) for obj in found]


# --- calendar-query ---------------------------------------------------------------------------


def _matches_text(values: list[str], match: Element) -> bool:
    needle = (match.text or "").casefold()
    hit = any(needle in value.casefold() for value in values)
    return hit != (match.get("negate-condition") == "yes")


def _prop_values(component: Component, name: str) -> list[str]:
    value = component.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        cats = getattr(item, "cats", None)
        texts.append(",".join(str(c) for c in cats) if cats is not None else str(item))
    return texts


def _prop_matches(component: Component, prop_filter: Element) -> bool:
    name = prop_filter.get("name", "").upper()
    values = _prop_values(component, name)
    if prop_filter.find(tag(CALDAV, "is-not-defined")) is not None:
        return not values
    if not values:
        return False
    text_match = prop_filter.find(tag(CALDAV, "text-match"))
    return text_match is None or _matches_text(values, text_match)


def _component_matches(component: Component, comp_filter: Element) -> bool:
    """Whether the component passes the filter (time ranges are not applied: a superset)."""
    if comp_filter.find(tag(CALDAV, "is-not-defined")) is not None:
        return False
    tests = []
    for child in comp_filter:
        if child.tag == tag(CALDAV, "prop-filter"):
            tests.append(_prop_matches(component, child))
        elif child.tag == tag(CALDAV, "comp-filter"):
            name = child.get("name", "").upper()
            subs = [c for c in component.subcomponents if c.name == name]
            if child.find(tag(CALDAV, "is-not-defined")) is not None:
                tests.append(not subs)
            else:
                tests.append(any(_component_matches(sub, child) for sub in subs))
    if comp_filter.get("test") == "anyof":
        return not tests or any(tests)
    return all(tests)


def _wants_todos(query: Element) -> Element | None:
    """The VTODO filter of a query (None: it asks for other components only)."""
    outer = query.find(f"{tag(CALDAV, 'filter')}/{tag(CALDAV, 'comp-filter')}")
    if outer is None:
        return Element(tag(CALDAV, "comp-filter"))
    inner = outer.findall(tag(CALDAV, "comp-filter"))
    if not inner:
        return Element(tag(CALDAV, "comp-filter"))
    for comp_filter in inner:
        if comp_filter.get("name", "").upper() == "VTODO":
            return comp_filter
    return None


async def calendar_query(
    db: Database, user_id: str, calendar: Calendar, query: Element
) -> list[Response]:
    """The calendar's todos that pass the query's filter."""
    todo_filter = _wants_todos(query)
    if todo_filter is None:
        return []
    found = await objects.as_objects(db, await objects.tasks_in(db, user_id, calendar))
    if len(todo_filter):
        found = [obj for obj in found if _component_matches(_todo(obj), todo_filter)]
    return _responses(user_id, calendar, found, wanted(query))


def _todo(obj: DavObject) -> Component:
    calendar = ICalendar.from_ical(obj.ical())
    return next(c for c in calendar.subcomponents if c.name == "VTODO")


# --- calendar-multiget ------------------------------------------------------------------------


# An href that is a path alone, as clients send them: `urlsplit` would give it back as it is.
_PLAIN_PATH = re.compile(r"/(?!/)[^?#\t\r\n]*")


def _names_in(user_id: str, calendar: Calendar, links: list[str]) -> dict[str, str | None]:
    """The name of the calendar's object each link points to (None: not one of its objects)."""
    parent = unquote(paths.calendar_path(user_id, calendar))
    names: dict[str, str | None] = {}
    for link in links:
        path = link.strip()
        path = unquote(path if _PLAIN_PATH.fullmatch(path) else urlsplit(path).path)
        name = path[len(parent) :]
        names[link] = name if name and path.startswith(parent) and "/" not in name else None
    return names


async def calendar_multiget(
    db: Database, user_id: str, calendar: Calendar, query: Element
) -> list[Response]:
    """The calendar's todos the query names by href; 404 for each it has not."""
    links = [node.text or "" for node in query.findall(tag(DAV, "href"))]
    names = _names_in(user_id, calendar, links)
    found = await objects.find_many(db, calendar, [n for n in names.values() if n is not None])
    parent, pick = paths.calendar_path(user_id, calendar), object_picker(wanted(query))
    responses = []
    for link, name in names.items():
        obj = found.get(name) if name is not None else None
        if obj is None:
            responses.append(Response(link.strip(), status=404))
        else:
            responses.append(Response(parent + paths.quoted_name(obj.name), *pick(obj)))
    return responses


# --- sync-collection --------------------------------------------------------------------------


def _cursor(token: str) -> sync.ChangeCursor:
    if not token.startswith(TOKEN_PREFIX):
        raise InvalidSyncToken()
    try:
        return sync.ChangeCursor.decode(token.removeprefix(TOKEN_PREFIX))
    except ValueError:
        raise InvalidSyncToken() from None


async def sync_collection(
    db: Database,
    horizon: sync.ChangeHorizon,
    user_id: str,
    calendar: Calendar,
    query: Element,
) -> tuple[list[Response], str]:
    """The calendar's todos changed since the query's sync token (all, without one), 404 for
    those it no longer holds; and the token to sync from next."""
    want = wanted(query)
    token = (query.findtext(tag(DAV, "sync-token")) or "").strip()
    if not token:
        cursor = await sync.cursor(db, horizon, user_id)
        found = await objects.as_objects(db, await objects.tasks_in(db, user_id, calendar))
        return _responses(user_id, calendar, found, want), sync_token(cursor)
    since = _cursor(token)
    start = since.position
    latest: dict[int, dict[str, object] | None] = {}
    # Whether each task was in the calendar in one of the changes read.
    seen: dict[int, bool] = {}
    # The objects of the tasks changed, read with their changes.
    stored: dict[int, ObjectRow] = {}
    while True:
        try:
            page = await sync.read_changes(
                db, horizon, user_id, since, _SYNC_LIMIT, repository.WITH_CHANGES
            )
        except sync.CursorExpired:
            raise InvalidSyncToken() from None
        for change in page.changes:
            if change.kind == "task":
                data = None if change.data is None else json.loads(change.data)
                latest[change.record_id] = data
                if data is not None and _in(calendar, data):
                    seen[change.record_id] = True
                if (obj := repository.logged_object(change)) is not None:
                    stored[change.record_id] = obj
                else:
                    stored.pop(change.record_id, None)
        since = page.next
        if not page.more:
            break
    held = [task_id for task_id, data in latest.items() if data is not None and _in(calendar, data)]
    if want.names is not None and set(want.names) <= _FROM_LOG:
        # The log's last change of each task is the task as it is up to the horizon.
        rows = [_logged_row(data) for task_id in held if (data := latest[task_id]) is not None]
    else:
        fetched = await tasks.tasks_by_ids(db, calendar.owner, held)
        rows = [row for row in fetched if calendar.holds(row)]
    found = await objects.as_objects(db, rows, stored, latest)
    responses = _responses(user_id, calendar, found, want)
    still = {obj.task["id"] for obj in found}
    gone = await _left(db, user_id, calendar, start, seen, [i for i in latest if i not in still])
    names = objects.names_of(gone, stored)
    responses += [
        Response(paths.object_path(user_id, calendar, names[task_id]), status=404)
        for task_id in gone
    ]
    return responses, sync_token(since)


# What a sync report's entries can say from the change log alone (the rest needs the rows).
_FROM_LOG = frozenset(
    {
        tag(DAV, "getetag"),
        tag(DAV, "getcontenttype"),
        tag(DAV, "resourcetype"),
        tag(DAV, "getlastmodified"),
    }
)


def _logged_row(data: dict[str, object]) -> tasks.TaskRow:
    """A task as its change shows it, with its times as the row holds them."""
    times = {name: datetime.fromisoformat(str(data[name])) for name in ("created_at", "updated_at")}
    return cast(tasks.TaskRow, data | times)


def _in(calendar: Calendar, data: dict[str, object]) -> bool:
    return data.get("list_id") == calendar.list_id and data.get("user_id") == calendar.owner


async def _left(
    db: Database,
    user_id: str,
    calendar: Calendar,
    start: int,
    seen: dict[int, bool],
    task_ids: list[int],
) -> list[int]:
    """Those of the tasks (deleted, or elsewhere now) that were in the calendar at some
    point since `start`: in it at `start`, or in it in a change since."""
    before = await sync.states_at(db, user_id, "task", task_ids, start)
    return [
        task_id
        for task_id in task_ids
        if seen.get(task_id) or (task_id in before and _in(calendar, json.loads(before[task_id])))
    ]
