"""Writing over CalDAV: a PUT creates or replaces a task, a DELETE deletes one, each through
the tasks service (logged, pushed, capped and checked against the caller's role like a REST
write), and the calendar object the client sent is kept beside the task."""

from dataclasses import dataclass
from typing import Any

from icalendar import Component
from pydantic import ValidationError

from todo_api import tasks
from todo_api.accounts import Caller
from todo_api.calendars.dav import objects, repository
from todo_api.calendars.dav.collections import Calendar
from todo_api.calendars.dav.errors import (
    BadCalendarData,
    ObjectNotFound,
    ReadOnlyCalendar,
    UidConflict,
)
from todo_api.calendars.dav.models import MAX_NAME_LENGTH
from todo_api.calendars.dav.objects import DavObject
from todo_api.calendars.dav.order import sort_order
from todo_api.calendars.dav.todos import InvalidCalendar, TodoFields, parse_calendar, read_todo
from todo_api.core.errors import PreconditionFailed


@dataclass(frozen=True, slots=True)
class Conditions:
    """A write's preconditions: `If-Match` (an ETag list, or `*`) and `If-None-Match: *`."""

    if_match: str | None = None
    if_none_match: str | None = None

    def check(self, current: DavObject | None) -> int | None:
        """PreconditionFailed unless they hold for `current`; the version `If-Match` names."""
        if_none_match = self.if_none_match
        if if_none_match is not None and current is not None and _names(if_none_match, current):
            raise _failed(current)
        if self.if_match is None:
            return None
        if current is None:
            raise PreconditionFailed("object", 0)
        if self.if_match.strip() == "*":
            return None
        if current.etag not in _tags(self.if_match):
            raise _failed(current)
        return int(current.task["version"])


def _names(header: str, current: DavObject) -> bool:
    return header.strip() == "*" or current.etag in _tags(header)


def _tags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",")}


def _failed(current: DavObject) -> PreconditionFailed:
    return PreconditionFailed("object", current.task["id"])


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "todo"
    return f"{where}: {first['msg']}"


def _body_text(body: bytes) -> str:
    if b"\x00" in body:
        raise BadCalendarData("The body holds a NUL byte")
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise BadCalendarData("The body is not UTF-8") from None


def _checked_name(name: str) -> str:
    if not name or len(name) > MAX_NAME_LENGTH or "\x00" in name or "/" in name:
        raise BadCalendarData(f"A resource name is 1 to {MAX_NAME_LENGTH} characters, no slash")
    return name


async def _parent_id(
    caller: Caller, calendar: Calendar, fields: TodoFields
) -> tuple[bool, int | None]:
    """Whether the todo's parent is known, and its task id (None: no parent). A UID the
    calendar has no task of is unknown: kept as sent, never guessed at."""
    uid = fields.parent_uid
    if uid is None or uid == fields.uid:
        return True, None
    found = await _tasks_of_uid(caller, calendar, uid)
    return (True, found[0].task["id"]) if found else (False, None)


async def _tasks_of_uid(caller: Caller, calendar: Calendar, uid: str) -> list[DavObject]:
    """The calendar's objects that have this UID."""
    candidates = [row["task_id"] for row in await repository.by_uid(caller.db, calendar.owner, uid)]
    if (derived := objects.task_id_of_derived(uid)) is not None and uid.endswith("@todo-api"):
        candidates.append(derived)
    rows = await tasks.tasks_by_ids(caller.db, calendar.owner, candidates)
    return [
        obj
        for obj in await objects.as_objects(caller.db, rows)
        if calendar.holds(obj.task) and obj.uid == uid
    ]


async def _holds_uid(caller: Caller, calendar: Calendar, uid: str) -> bool:
    return bool(await _tasks_of_uid(caller, calendar, uid))


def _task_fields(fields: TodoFields, parent: tuple[bool, int | None]) -> dict[str, Any]:
    values = fields.task_values()
    known, parent_id = parent
    if known:
        values["parent_id"] = parent_id
    return values


async def put(
    caller: Caller, calendar: Calendar, name: str, body: bytes, conditions: Conditions
) -> tuple[DavObject, bool]:
    """Create or replace the object `name` of the calendar with the todo `body` holds; the
    object written, and whether it is new."""
    if not calendar.writable:
        raise ReadOnlyCalendar()
    name = _checked_name(name)
    text = _body_text(body)
    try:
        _, todo = parse_calendar(body)
        fields = read_todo(todo)
    except InvalidCalendar as error:
        raise BadCalendarData(str(error)) from None
    current = await objects.find(caller.db, calendar, name)
    version = conditions.check(current)
    if len(fields.uid) > MAX_NAME_LENGTH:
        raise BadCalendarData(f"A UID is at most {MAX_NAME_LENGTH} characters")
    if current is not None and current.uid != fields.uid:
        raise BadCalendarData("The UID of an object cannot change")
    if current is None and await _holds_uid(caller, calendar, fields.uid):
        raise UidConflict()
    values = _task_fields(fields, await _parent_id(caller, calendar, fields))
    settings = caller.settings
    try:
        if current is None:
            data = tasks.TaskCreate.model_validate(values | {"list_id": calendar.list_id})
            task, _ = await tasks.create_task(
                caller.store,
                caller.user,
                data,
                caller.known_users,
                max_tasks=settings.max_tasks_per_user,
            )
        else:
            patch = tasks.TaskPatch.model_validate(values)
            shared = await tasks.writable_task(caller.db, caller.user_id, current.task["id"])
            task = await tasks.update_task(
                caller.store,
                shared.row,
                patch.changes(),
                version,
                max_tasks=settings.max_tasks_per_user,
                may_leave_list=shared.owned,
            )
        if current is not None and (order := _sent_order(todo)) is not None:
            task = await _reorder(caller, calendar, task, order, may_leave_list=shared.owned)
    except ValidationError as error:
        raise BadCalendarData(_reason(error)) from None
    await repository.save(caller.db, task, name, fields.uid, text)
    written = await objects.find(caller.db, calendar, name)
    if written is None:  # deleted or moved away as soon as written
        raise ObjectNotFound()
    return written, current is None


def _sent_order(todo: Component) -> int | None:
    value = todo.get("X-APPLE-SORT-ORDER")
    if value is None or isinstance(value, list):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


async def _reorder(
    caller: Caller, calendar: Calendar, task: tasks.TaskRow, order: int, *, may_leave_list: bool
) -> tasks.TaskRow:
    """The task moved among its siblings to where the sort order a client sent puts it (a
    client that reorders writes a number between its new neighbours')."""
    if order == sort_order(task["position"]):
        return task
    rows = await objects.tasks_in(caller.db, caller.user_id, calendar)
    siblings = sorted(
        (row for row in rows if row["parent_id"] == task["parent_id"]),
        key=lambda row: row["position"],
    )
    others = [row for row in siblings if row["id"] != task["id"]]
    below = [row for row in others if sort_order(row["position"]) < order]
    ids = [row["id"] for row in siblings]
    before_it = ids.index(task["id"]) if task["id"] in ids else -1
    now_after = siblings[before_it - 1]["id"] if before_it > 0 else None
    if below:
        if below[-1]["id"] == now_after:
            return task
        move = tasks.TaskMove(after_id=below[-1]["id"])
    elif others:
        if before_it == 0:
            return task
        move = tasks.TaskMove(before_id=others[0]["id"])
    else:
        return task
    return await tasks.move_task(caller.store, task, move, may_leave_list=may_leave_list)


async def delete(caller: Caller, calendar: Calendar, name: str, conditions: Conditions) -> None:
    """Delete the object `name` of the calendar (the task, with its subtasks)."""
    current = await objects.find(caller.db, calendar, name)
    if current is None:
        raise ObjectNotFound()
    if not calendar.writable:
        raise ReadOnlyCalendar()
    version = conditions.check(current)
    shared = await tasks.writable_task(caller.db, caller.user_id, current.task["id"])
    await tasks.delete_task(caller.store, shared.row, version)
