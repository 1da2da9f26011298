"""A task no client sent anything for, written as iCalendar text directly: the icalendar
library's object model costs far more per todo than a calendar report can afford. A
differential test pins it to `render.render` with nothing stored."""

from datetime import UTC, date, datetime
from typing import Any

from todo_api.calendars.dav.order import sort_order
from todo_api.calendars.dav.render import PRODID

_PRIORITY_VALUES = (0, 9, 5, 1)  # by the stored rank: none, low, medium, high
_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": ""})
_LINE_OCTETS = 75


def _text(value: str) -> str:
    return value.translate(_ESCAPES)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1), never inside a character."""
    encoded = line.encode()
    if len(encoded) <= _LINE_OCTETS:
        return line
    parts: list[str] = []
    start, limit = 0, _LINE_OCTETS
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:
            end -= 1  # back to the start of a character
        parts.append(encoded[start:end].decode())
        start, limit = end, _LINE_OCTETS - 1  # continuation lines begin with a space
    return "\r\n ".join(parts)


def _minutes(before: int) -> str:
    if before == 0:
        return "PT0S"
    days, minutes = divmod(before, 1440)
    hours, minutes = divmod(minutes, 60)
    text = f"-P{days}D" if days else "-P"
    if hours or minutes:
        text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text


def _alarms(task: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for reminder in task["reminders"]:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{_text(task['title'])}"]
        if reminder["at"] is not None:
            at = datetime.fromisoformat(reminder["at"])
            lines.append(f"TRIGGER;VALUE=DATE-TIME:{_utc(at)}")
        else:
            lines.append(f"TRIGGER;RELATED=END:{_minutes(reminder['before_minutes'])}")
        lines.append("END:VALARM")
    return lines


def write(task: dict[str, Any], uid: str, parent_uid: str | None) -> bytes:
    """The task as an iCalendar object holding its VTODO."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "BEGIN:VTODO",
        f"UID:{_text(uid)}",
        f"DTSTAMP:{_utc(task['updated_at'])}",
        f"CREATED:{_utc(task['created_at'])}",
        f"LAST-MODIFIED:{_utc(task['updated_at'])}",
        f"X-APPLE-SORT-ORDER:{sort_order(task['position'])}",
        f"SUMMARY:{_text(task['title'])}",
    ]
    if task["description"] is not None:
        lines.append(f"DESCRIPTION:{_text(task['description'])}")
    lines.append(f"STATUS:{'COMPLETED' if task['completed'] else 'NEEDS-ACTION'}")
    if task["completed"] and task["completed_at"] is not None:
        lines += [f"COMPLETED:{_utc(task['completed_at'])}", "PERCENT-COMPLETE:100"]
    if priority := _PRIORITY_VALUES[task["priority"]]:
        lines.append(f"PRIORITY:{priority}")
    if task["tags"]:
        lines.append("CATEGORIES:" + ",".join(_text(tag) for tag in task["tags"]))
    if task["recurrence"]:
        rule = f"FREQ={task['recurrence'].upper()}"
        if task["recurrence_interval"] != 1:
            rule += f";INTERVAL={task['recurrence_interval']}"
        lines.append(f"RRULE:{rule}")
    if task["due_at"] is not None:
        lines.append(f"DUE:{_utc(task['due_at'])}")
    elif task["due_date"] is not None:
        lines.append(f"DUE;VALUE=DATE:{_day(task['due_date'])}")
    if parent_uid is not None:
        lines.append(f"RELATED-TO;RELTYPE=PARENT:{_text(parent_uid)}")
    lines += _alarms(task)
    lines += ["END:VTODO", "END:VCALENDAR", ""]
    return "\r\n".join(_fold(line) for line in lines).encode()
