"""A task as a VTODO: its fields written over the calendar object a client last sent.

For each group of properties the service models (`todos.py`), what the client sent is written
back as it was while the task still has the value it was read as; once the task changed
there (a REST edit, say), the task's value is written instead. Everything else the client sent
(other properties, alarms that are not reminders, other components) comes back as sent.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Component, Todo

from todo_api.calendars.dav.order import sort_order
from todo_api.calendars.dav.todos import Reminder, TodoFields, parse_calendar, read_todo

PRODID = "-//todo-api//CalDAV//EN"
_PRIORITY_NAMES = ("none", "low", "medium", "high")
_PRIORITY_VALUES = {"high": 1, "medium": 5, "low": 9}
# The properties each modelled group is written as (RELATED-TO: only the parent link).
_GROUPS: dict[str, tuple[str, ...]] = {
    "title": ("SUMMARY",),
    "description": ("DESCRIPTION",),
    "completed": ("STATUS", "COMPLETED", "PERCENT-COMPLETE"),
    "priority": ("PRIORITY",),
    "tags": ("CATEGORIES",),
    "recurrence": ("RRULE",),
    "due": ("DUE",),
    "parent": ("RELATED-TO",),
}
# Written from the task every time (a sort order a client sent moved the task: `writes.py`).
_ALWAYS = ("UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "X-APPLE-SORT-ORDER")

Values = dict[str, object]


def _reminders_of(task: dict[str, Any]) -> tuple[Reminder, ...]:
    return tuple(
        Reminder(
            at=None if r["at"] is None else datetime.fromisoformat(r["at"]),
            before_minutes=r["before_minutes"],
        )
        for r in task["reminders"]
    )


def _priority_name(value: object) -> str:
    return _PRIORITY_NAMES[value] if isinstance(value, int) else str(value)


def task_values(task: dict[str, Any], parent_uid: str | None) -> Values:
    """The task's value of each group, as `sent_values` reads a client's todo."""
    recurring = task["recurrence"]
    return {
        "title": task["title"],
        "description": task["description"],
        "completed": task["completed"],
        "priority": _priority_name(task["priority"]),
        "tags": tuple(tag.casefold() for tag in task["tags"]),
        "recurrence": (recurring, task["recurrence_interval"] if recurring else 1),
        "due": (task["due_date"], task["due_at"]),
        "parent": parent_uid,
        "reminders": _reminders_of(task),
    }


def sent_values(fields: TodoFields) -> Values:
    """A client's todo's value of each group."""
    return {
        "title": fields.title,
        "description": fields.description,
        "completed": fields.completed,
        "priority": fields.priority,
        "tags": tuple(tag.casefold() for tag in fields.tags),
        "recurrence": (fields.recurrence, fields.recurrence_interval),
        "due": (fields.due_date, fields.due_at),
        "parent": fields.parent_uid,
        "reminders": fields.reminders,
    }


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _write_group(todo: Component, group: str, task: dict[str, Any], parent_uid: str | None) -> None:
    """Add the task's properties of `group` to `todo`."""
    if group == "title":
        todo.add("SUMMARY", task["title"])
    elif group == "description" and task["description"] is not None:
        todo.add("DESCRIPTION", task["description"])
    elif group == "completed":
        todo.add("STATUS", "COMPLETED" if task["completed"] else "NEEDS-ACTION")
        if task["completed"] and task["completed_at"] is not None:
            todo.add("COMPLETED", _utc(task["completed_at"]))
            todo.add("PERCENT-COMPLETE", 100)
    elif group == "priority" and (value := _PRIORITY_VALUES.get(_priority_name(task["priority"]))):
        todo.add("PRIORITY", value)
    elif group == "tags" and task["tags"]:
        todo.add("CATEGORIES", list(task["tags"]))
    elif group == "recurrence" and task["recurrence"]:
        rule: dict[str, Any] = {"FREQ": task["recurrence"].upper()}
        if task["recurrence_interval"] != 1:
            rule["INTERVAL"] = task["recurrence_interval"]
        todo.add("RRULE", rule)
    elif group == "due":
        if task["due_at"] is not None:
            todo.add("DUE", _utc(task["due_at"]))
        elif task["due_date"] is not None:
            todo.add("DUE", task["due_date"])
    elif group == "parent" and parent_uid is not None:
        todo.add("RELATED-TO", parent_uid, parameters={"RELTYPE": "PARENT"})


def _alarm(task: dict[str, Any], reminder: Reminder) -> Alarm:
    alarm = Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", task["title"])
    if reminder.at is not None:
        # RFC 5545: a TRIGGER is a duration unless it says it is a date-time.
        alarm.add("TRIGGER", _utc(reminder.at), parameters={"VALUE": "DATE-TIME"})
    else:
        before = timedelta(minutes=reminder.before_minutes or 0)
        alarm.add("TRIGGER", -before, parameters={"RELATED": "END"})
    return alarm


def _links(todo: Component) -> list[Any]:
    value = todo.get("RELATED-TO")
    return value if isinstance(value, list) else [] if value is None else [value]


def _is_parent_link(link: Any) -> bool:
    return str(link.params.get("RELTYPE", "PARENT")).upper() == "PARENT"


def _kept(was: Values, current: Values) -> set[str]:
    """The groups whose sent properties still say what the task holds. A parent the service
    never found (not uploaded yet, say) keeps its link as sent."""
    kept = {group for group in (*_GROUPS, "reminders") if was[group] == current[group]}
    if current["parent"] is None and was["parent"] is not None:
        kept.add("parent")
    return kept


def _merged_todo(
    task: dict[str, Any], uid: str, parent_uid: str | None, sent: Component | None
) -> Todo:
    todo = Todo()
    todo.add("UID", uid)
    todo.add("DTSTAMP", _utc(task["updated_at"]))
    todo.add("CREATED", _utc(task["created_at"]))
    todo.add("LAST-MODIFIED", _utc(task["updated_at"]))
    todo.add("X-APPLE-SORT-ORDER", sort_order(task["position"]))
    current = task_values(task, parent_uid)
    kept: set[str] = set()
    alarms: list[Component] = []
    mapped: tuple[int, ...] = ()
    if sent is not None:
        fields = read_todo(sent)
        kept = _kept(sent_values(fields), current)
        mapped = fields.mapped_alarms
        alarms = [c for c in sent.subcomponents if c.name == "VALARM"]
        group_of = {name: group for group, names in _GROUPS.items() for name in names}
        for name, value in sent.property_items(recursive=False, sorted=False):
            if name in ("BEGIN", "END", "RELATED-TO") or name in _ALWAYS:
                continue
            if name not in group_of or group_of[name] in kept:
                todo.add(name, value, encode=False)
        for link in _links(sent):
            if not _is_parent_link(link) or "parent" in kept:
                todo.add("RELATED-TO", link, encode=False)
    for group in _GROUPS:
        if group not in kept:
            _write_group(todo, group, task, parent_uid)
    for index, alarm in enumerate(alarms):
        if "reminders" in kept or index not in mapped:
            todo.add_component(alarm)
    if "reminders" not in kept:
        for reminder in _reminders_of(task):
            todo.add_component(_alarm(task, reminder))
    return todo


def render(task: dict[str, Any], uid: str, parent_uid: str | None, stored: str | None) -> bytes:
    """The task as an iCalendar object: over `stored` (the object a client last sent for it),
    if any, keeping what that holds beyond the task's fields."""
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    sent: Component | None = None
    if stored is not None:
        sent_calendar, sent = parse_calendar(stored.encode())
        for name, value in sent_calendar.property_items(recursive=False, sorted=False):
            if name not in ("BEGIN", "END", "VERSION", "PRODID"):
                calendar.add(name, value, encode=False)
        for component in sent_calendar.subcomponents:
            if component is not sent:
                calendar.add_component(component)
    merged = _merged_todo(task, uid, parent_uid, sent)
    # The todo goes where the client had it: after the time zones it may refer to.
    calendar.add_component(merged)
    ical: bytes = calendar.to_ical()
    return ical
