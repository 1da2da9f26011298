"""A VTODO read as a task's fields: what CalDAV clients send, mapped to what the service models.

Mapping (iCalendar → task):
- `SUMMARY` → title (a todo without one gets `Untitled`), `DESCRIPTION` → description.
- `STATUS:COMPLETED` or `CANCELLED` (or a `COMPLETED` time without a status) → completed.
- `PRIORITY` 1 to 4 → high, 5 → medium, 6 to 9 → low, 0 or none → none.
- `CATEGORIES` (every line) → tags.
- `DUE` as a date → `due_date`; as a date-time → `due_at` (in UTC; a floating time is read as UTC).
- `RRULE` with only `FREQ` (daily to yearly) and `INTERVAL` → recurrence; any other rule is kept
  as sent and the task does not recur in the API.
- `VALARM`s whose `TRIGGER` is a date-time, or a duration before `DUE` (a date-time), → up to
  five reminders; other alarms are kept as sent.
- `RELATED-TO` with `RELTYPE=PARENT`, or no `RELTYPE`, → the parent's UID (`RELTYPE=CHILD`
  links are kept, never read as a parent).

Whatever else a todo carries stays in the calendar object the service keeps (`render.py`
merges it back).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Component

# The first five alarms that map to reminders (the service's cap).
MAX_REMINDERS = 5
UNTITLED = "Untitled"
_FREQUENCIES = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}
_DONE = {"COMPLETED", "CANCELLED"}


class InvalidCalendar(ValueError):
    """A body that is not one iCalendar object holding one todo."""


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder as a task sets it: at a time, or some minutes before its due time."""

    at: datetime | None = None
    before_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class TodoFields:
    """The modelled fields of one VTODO, as the task's."""

    uid: str
    title: str = UNTITLED
    description: str | None = None
    completed: bool = False
    priority: str = "none"
    tags: tuple[str, ...] = ()
    recurrence: str | None = None
    recurrence_interval: int = 1
    due_date: date | None = None
    due_at: datetime | None = None
    reminders: tuple[Reminder, ...] = ()
    parent_uid: str | None = None
    # Which of its alarms map to `reminders` (indexes among its VALARMs).
    mapped_alarms: tuple[int, ...] = field(default=())

    def task_values(self) -> dict[str, Any]:
        """The fields as a task's write takes them (TaskCreate's names)."""
        return {
            "title": self.title,
            "description": self.description,
            "completed": self.completed,
            "priority": self.priority,
            "tags": list(self.tags),
            "recurrence": self.recurrence,
            "recurrence_interval": self.recurrence_interval,
            "due_date": self.due_date,
            "due_at": self.due_at,
            "reminders": [
                {"at": r.at} if r.at is not None else {"before_minutes": r.before_minutes}
                for r in self.reminders
            ],
        }


def parse_calendar(body: bytes) -> tuple[Calendar, Component]:
    """The calendar object a client sent, and its todo (the one without `RECURRENCE-ID`)."""
    try:
        calendar = Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as error:
        raise InvalidCalendar(f"not iCalendar data: {error}") from None
    if calendar.name != "VCALENDAR":
        raise InvalidCalendar("the body must be one VCALENDAR")
    todos = [c for c in calendar.subcomponents if c.name == "VTODO"]
    masters = [todo for todo in todos if "RECURRENCE-ID" not in todo]
    if len(masters) != 1:
        raise InvalidCalendar("the calendar must hold exactly one VTODO")
    if any(c.name in ("VEVENT", "VJOURNAL") for c in calendar.subcomponents):
        raise InvalidCalendar("only VTODO components are supported in this calendar")
    uids = {str(todo.get("UID", "")) for todo in todos}
    if len(uids) != 1 or "" in uids:
        raise InvalidCalendar("the VTODO must have a UID (the same in each of its instances)")
    return calendar, masters[0]


def read_todo(todo: Component) -> TodoFields:
    """The modelled fields of `todo` (InvalidCalendar if a value is not what its type says)."""
    try:
        return _read(todo)
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        raise InvalidCalendar(f"a value of the VTODO cannot be read: {error}") from None


def _text(todo: Component, name: str) -> str | None:
    value = todo.get(name)
    if isinstance(value, list):
        value = value[0]
    return None if value is None else str(value)


def _read(todo: Component) -> TodoFields:
    due_date, due_at = read_due(todo.get("DUE"))
    recurrence, interval = read_rule(todo.get("RRULE"))
    reminders, mapped = _reminders(todo, due_at)
    summary = (_text(todo, "SUMMARY") or "").strip()
    return TodoFields(
        uid=str(todo["UID"]),
        title=summary or UNTITLED,
        description=_text(todo, "DESCRIPTION"),
        completed=read_completed(todo),
        priority=read_priority(todo.get("PRIORITY")),
        tags=read_tags(todo.get("CATEGORIES")),
        recurrence=recurrence,
        recurrence_interval=interval,
        due_date=due_date,
        due_at=due_at,
        reminders=reminders,
        parent_uid=read_parent(todo.get("RELATED-TO")),
        mapped_alarms=mapped,
    )


def read_completed(todo: Component) -> bool:
    """Whether the todo is done: its STATUS, else whether it has a COMPLETED time."""
    status = todo.get("STATUS")
    if status is not None:
        return str(status).upper() in _DONE
    return todo.get("COMPLETED") is not None


def read_priority(value: object) -> str:
    """iCalendar's 1 (highest) to 9 (lowest) as the service's names; 0 or absent is none."""
    if value is None:
        return "none"
    number = int(str(value))
    if number <= 0 or number > 9:
        return "none"
    return "high" if number <= 4 else "medium" if number == 5 else "low"


def read_tags(value: object) -> tuple[str, ...]:
    """Every CATEGORIES line's values, in order, each once (ignoring case)."""
    lines = value if isinstance(value, list) else [] if value is None else [value]
    tags: list[str] = []
    for line in lines:
        for category in getattr(line, "cats", []):
            tag = str(category).strip()
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
    return tuple(tags)


def as_utc(value: datetime) -> datetime:
    """A date-time in UTC (a floating one is read as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def read_due(value: object) -> tuple[date | None, datetime | None]:
    """DUE as (`due_date`, `due_at`)."""
    if value is None:
        return None, None
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        utc = as_utc(moment)
        return utc.date(), utc
    if isinstance(moment, date):
        return moment, None
    raise ValueError("DUE is neither a date nor a date-time")


def read_rule(value: object) -> tuple[str | None, int]:
    """RRULE as (recurrence, interval) when the service can repeat it; (None, 1) otherwise."""
    if not isinstance(value, dict):
        return None, 1
    rule = {str(key).upper(): parts for key, parts in value.items()}
    frequency = str(rule.get("FREQ", [""])[0]).upper()
    if set(rule) - {"FREQ", "INTERVAL"} or frequency not in _FREQUENCIES:
        return None, 1
    interval = int(rule.get("INTERVAL", [1])[0])
    if not 1 <= interval <= 1000:
        return None, 1
    return _FREQUENCIES[frequency], interval


def read_parent(value: object) -> str | None:
    """The UID of the todo's parent: the first RELATED-TO that is RELTYPE=PARENT, or has none."""
    links = value if isinstance(value, list) else [] if value is None else [value]
    for link in links:
        reltype = str(getattr(link, "params", {}).get("RELTYPE", "PARENT")).upper()
        if reltype == "PARENT" and str(link).strip():
            return str(link).strip()
    return None


def read_alarm(alarm: Component, due_at: datetime | None, has_start: bool) -> Reminder | None:
    """The reminder an alarm is, if the service can hold it: at a date-time, or a whole number
    of minutes before a due date-time (RELATED=END, or unrelated on a todo without DTSTART)."""
    trigger = alarm.get("TRIGGER")
    if trigger is None or isinstance(trigger, list):
        return None
    moment = getattr(trigger, "dt", None)
    if isinstance(moment, datetime):
        return Reminder(at=as_utc(moment))
    if not isinstance(moment, timedelta) or due_at is None:
        return None
    related = str(trigger.params.get("RELATED", "START")).upper()
    if related != "END" and (has_start or "RELATED" in trigger.params):
        return None
    seconds = -moment.total_seconds()
    if seconds < 0 or seconds % 60:
        return None
    return Reminder(before_minutes=int(seconds // 60))


def _reminders(
    todo: Component, due_at: datetime | None
) -> tuple[tuple[Reminder, ...], tuple[int, ...]]:
    alarms = [c for c in todo.subcomponents if c.name == "VALARM"]
    reminders: list[Reminder] = []
    mapped: list[int] = []
    for index, alarm in enumerate(alarms):
        reminder = read_alarm(alarm, due_at, "DTSTART" in todo)
        if reminder is not None and len(reminders) < MAX_REMINDERS:
            reminders.append(reminder)
            mapped.append(index)
    return tuple(reminders), tuple(mapped)
