"""A calendar's objects: its tasks as VTODOs, with their names, UIDs and ETags."""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from todo_api import tasks
from todo_api.calendars.dav import plain, repository
from todo_api.calendars.dav.collections import Calendar
from todo_api.calendars.dav.models import ObjectRow
from todo_api.calendars.dav.render import render
from todo_api.core.database import Database

# Merged objects by task, creation and version (a write bumps the version): merging is costly.
_CACHED_OBJECTS = 10_000
_RENDERED: dict[tuple[int, datetime, int, str | None], bytes] = {}
# The most tasks one listing query reads.
_PAGE = 1000
_DERIVED_SUFFIX = ".ics"


def derived_uid(task_id: int) -> str:
    """The UID of a task no CalDAV client named: stable, as its id."""
    return f"task-{task_id}@todo-api"


def derived_name(task_id: int) -> str:
    """The resource name of a task no CalDAV client named."""
    return f"{task_id}{_DERIVED_SUFFIX}"


def task_id_of_derived(name: str) -> int | None:
    """The task id a derived name or UID stands for, if it is one."""
    for prefix, suffix in (("", _DERIVED_SUFFIX), ("task-", "@todo-api")):
        if name.startswith(prefix) and name.endswith(suffix):
            number = name[len(prefix) : len(name) - len(suffix)]
            if number.isascii() and number.isdigit() and len(number) < 12:
                return int(number)
    return None


def _stamp(moment: datetime) -> str:
    return format(int(moment.timestamp() * 1_000_000), "x")


def etag(task: tasks.TaskRow) -> str:
    """The object's ETag: the task's version, and when the task was created (SQLite may give
    a new task the id of one deleted: its object must not look unchanged)."""
    return f'"{task["version"]}-{_stamp(task["created_at"])}"'


@dataclass(frozen=True, slots=True)
class DavObject:
    """A task as a calendar object, with what a client stored for it (if any)."""

    task: tasks.TaskRow
    stored: ObjectRow | None
    parent_uid: str | None

    @property
    def name(self) -> str:
        """Its resource name."""
        return self.stored["name"] if self.stored else derived_name(self.task["id"])

    @property
    def uid(self) -> str:
        """Its UID."""
        return self.stored["uid"] if self.stored else derived_uid(self.task["id"])

    @property
    def etag(self) -> str:
        """Its ETag."""
        return etag(self.task)

    def ical(self) -> bytes:
        """Its iCalendar object."""
        if self.stored is None:
            return plain.write(self.task, self.uid, self.parent_uid)
        key = (self.task["id"], self.task["created_at"], self.task["version"], self.parent_uid)
        if (cached := _RENDERED.get(key)) is not None:
            return cached
        rendered = render(dict(self.task), self.uid, self.parent_uid, self.stored["ical"])
        _RENDERED[key] = rendered
        if len(_RENDERED) > _CACHED_OBJECTS:
            del _RENDERED[next(iter(_RENDERED))]
        return rendered


async def as_objects(
    db: Database,
    rows: Iterable[tasks.TaskRow],
    known: Mapping[int, ObjectRow] | None = None,
    checked: Collection[int] = (),
) -> list[DavObject]:
    """The tasks as calendar objects (their parents' UIDs looked up with them). `known`: the
    objects of the tasks `checked` already read (those without one have none)."""
    rows = list(rows)
    ids = {row["id"] for row in rows} | {
        row["parent_id"] for row in rows if row["parent_id"] is not None
    }
    stored = dict(known or {}) | await repository.of_tasks(db, ids - set(checked))
    created = {row["id"]: row["created_at"] for row in rows}
    # A row of a task deleted since (whose id a new task took) is not the new task's.
    stored = {
        task_id: row
        for task_id, row in stored.items()
        if task_id not in created or row["task_created"] == created[task_id]
    }

    def uid_of(task_id: int | None) -> str | None:
        if task_id is None:
            return None
        row = stored.get(task_id)
        return row["uid"] if row else derived_uid(task_id)

    return [DavObject(row, stored.get(row["id"]), uid_of(row["parent_id"])) for row in rows]


async def tasks_in(db: Database, caller: str, calendar: Calendar) -> list[tasks.TaskRow]:
    """Every task of the calendar (completed ones too), in creation order."""
    found: list[tasks.TaskRow] = []
    cursor: str | None = None
    while True:
        query = tasks.TaskListQuery(
            list_id=calendar.list_id if calendar.list_id is not None else "inbox",
            limit=_PAGE,
            cursor=cursor,
        )
        page = await tasks.list_tasks(db, caller, query)
        found.extend(page.tasks)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def find(db: Database, calendar: Calendar, name: str) -> DavObject | None:
    """The calendar's object of this resource name, if it has one."""
    return (await find_many(db, calendar, [name])).get(name)


async def find_many(db: Database, calendar: Calendar, names: list[str]) -> dict[str, DavObject]:
    """The calendar's objects of these names, by name (names it has not are left out)."""
    derived = [
        task_id
        for name in names
        if name.endswith(_DERIVED_SUFFIX) and (task_id := task_id_of_derived(name)) is not None
    ]
    read = await repository.named(db, calendar.owner, names, derived)
    known = {task["id"]: stored for task, stored in read if stored is not None}
    # Every task read had its object read with it (those without one have none).
    checked = {task["id"] for task, _ in read}
    found = [
        obj
        for obj in await as_objects(db, [task for task, _ in read], known, checked)
        if calendar.holds(obj.task)
    ]
    # A name a client gave is its object's, before a task's derived name that looks the same.
    found.sort(key=lambda obj: obj.stored is not None)
    by_name = {obj.name: obj for obj in found}
    return {name: by_name[name] for name in names if name in by_name}


def names_of(task_ids: list[int], stored: Mapping[int, ObjectRow]) -> dict[int, str]:
    """The resource names these tasks have (or had, once deleted), by task id, given the
    objects read for them (those without one have none)."""
    return {
        task_id: stored[task_id]["name"] if task_id in stored else derived_name(task_id)
        for task_id in task_ids
    }
