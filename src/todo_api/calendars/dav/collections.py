"""The calendars a user sees over CalDAV, and where everything is: one calendar per list they
see (their own, and those shared with them, with their role), plus the Inbox.

Paths: `/dav/principals/<user>/` (the principal), `/dav/calendars/<user>/` (the calendar
home), `/dav/calendars/<user>/<calendar>/` (`inbox`, or `list-<id>`), and its objects
`…/<name>.ics` (the name a client gave the task, else `<task id>.ics`).
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

from todo_api import tasks
from todo_api.calendars.dav.errors import CalendarNotFound
from todo_api.core.database import Database
from todo_api.core.errors import NotFound

PREFIX = "/dav"
INBOX = "inbox"
INBOX_NAME = "Inbox"
_LIST_KEY = "list-"
# What `quote` leaves alone.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~-]*")


@dataclass(frozen=True, slots=True)
class Calendar:
    """A calendar: the Inbox or a list, whose tasks are `owner`'s, seen with `role`."""

    key: str
    list_id: int | None
    owner: str
    name: str
    color: str | None
    role: tasks.Role

    @property
    def writable(self) -> bool:
        """Whether the caller may write its tasks."""
        return self.role is not tasks.Role.viewer

    def holds(self, task: tasks.TaskRow) -> bool:
        """Whether the task is in this calendar."""
        return task["user_id"] == self.owner and task["list_id"] == self.list_id


def _of_list(row: tasks.ListRow) -> Calendar:
    role = tasks.Role(row.get("role", tasks.Role.owner.value))
    return Calendar(
        f"{_LIST_KEY}{row['id']}", row["id"], row["user_id"], row["name"], row["color"], role
    )


def inbox(user_id: str) -> Calendar:
    """The user's Inbox: their tasks in no list."""
    return Calendar(INBOX, None, user_id, INBOX_NAME, None, tasks.Role.owner)


async def calendars_of(db: Database, user_id: str) -> list[Calendar]:
    """The Inbox, then the user's lists in their order, then those shared with them."""
    return [inbox(user_id), *(_of_list(row) for row in await tasks.lists_of(db, user_id))]


async def calendar_for(db: Database, user_id: str, key: str) -> Calendar:
    """The calendar `key` names among the user's; CalendarNotFound otherwise."""
    if key == INBOX:
        return inbox(user_id)
    number = key.removeprefix(_LIST_KEY)
    if not key.startswith(_LIST_KEY) or not number.isascii() or not number.isdigit():
        raise CalendarNotFound()
    try:
        shared = await tasks.list_for(db, user_id, int(number), tasks.Role.viewer)
    except NotFound:
        raise CalendarNotFound() from None
    return _of_list(shared.row | {"role": shared.role.value})


def principal_path(user_id: str) -> str:
    """The user's principal."""
    return f"{PREFIX}/principals/{quote(user_id, safe='')}/"


def home_path(user_id: str) -> str:
    """The user's calendar home."""
    return f"{PREFIX}/calendars/{quote(user_id, safe='')}/"


def calendar_path(user_id: str, calendar: Calendar) -> str:
    """A calendar of the user's, as they see it."""
    return f"{home_path(user_id)}{calendar.key}/"


def object_path(user_id: str, calendar: Calendar, name: str) -> str:
    """An object of a calendar of the user's."""
    return f"{calendar_path(user_id, calendar)}{quoted_name(name)}"


def quoted_name(name: str) -> str:
    """An object's name as its path ends with it."""
    # Most names (UUIDs, task ids) are left as they are: asking `quote` costs a report of many
    # objects more than the answer's own XML.
    return name if _PLAIN_NAME.fullmatch(name) else quote(name, safe="")


@dataclass(frozen=True, slots=True)
class DavPath:
    """What a path under PREFIX names: its kind (`root`, `principals`, `principal`,
    `calendars`, `home`, `calendar`, `object`), and the user, calendar and object names."""

    kind: str
    user: str | None = None
    calendar: str | None = None
    name: str | None = None


def parse_path(path: str) -> DavPath | None:
    """What `path` (decoded, as the request's scope holds it; with or without its trailing
    slash) names; None for nothing of ours."""
    if path != PREFIX and not path.startswith(f"{PREFIX}/"):
        return None
    parts = [part for part in path[len(PREFIX) :].split("/") if part]
    if not parts:
        return DavPath("root")
    section, rest = parts[0], parts[1:]
    if section == "principals" and len(rest) <= 1:
        return DavPath("principal", rest[0]) if rest else DavPath("principals")
    if section == "calendars" and len(rest) <= 3:
        kinds = ("calendars", "home", "calendar", "object")
        padded = [*rest, None, None, None]
        return DavPath(kinds[len(rest)], padded[0], padded[1], padded[2])
    return None
