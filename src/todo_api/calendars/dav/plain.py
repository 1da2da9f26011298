"""A task no client sent anything for, written as iCalendar text directly: the icalendar
library's object model costs far more per todo than a calendar report can afford. It writes
what `render.render` writes with nothing stored, byte for byte (a differential test pins it):
the properties in the library's order (alphabetical), its escapes and its folding."""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from todo_api.calendars.dav.order import sort_order
from todo_api.calendars.dav.render import PRODID

_PRIORITY_VALUES = (0, 9, 5, 1)  # by the stored rank: none, low, medium, high
# The library's TEXT escapes: a line break of any kind is `\n`. (It also reads a `\N` already
# in the text as a line break, which would change what the user wrote: that one is not copied.)
_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": "\\n"})
_SPECIAL = frozenset("\\;,\n\r")
# The library folds a line before the octet that would make it 75 long (continuation lines
# then hold 75 with their leading space), and never right after a `\` or `^`.
_CHUNK_OCTETS = 74
_HEAD = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nBEGIN:VTODO"
_TAIL = "END:VTODO\r\nEND:VCALENDAR\r\n"
# %-formatting (below, and for dates): the quickest way to write the times every todo has.
_UTC_FORMAT = "%04d%02d%02dT%02d%02d%02dZ"


def _text(value: str) -> str:
    if _SPECIAL.isdisjoint(value):
        return value
    return value.replace("\r\n", "\n").translate(_ESCAPES)


def _utc(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    moment = (value.year, value.month, value.day, value.hour, value.minute, value.second)
    return _UTC_FORMAT % moment


def _day(value: date) -> str:
    return "%04d%02d%02d" % (value.year, value.month, value.day)  # noqa: UP031


def _fold(line: str) -> str:
    """A content line folded as the library folds it, never inside a character."""
    if len(line) <= _CHUNK_OCTETS and line.isascii():  # both known without reading the line
        return line
    encoded = line.encode()
    if len(encoded) <= _CHUNK_OCTETS:
        return line
    parts: list[bytes] = []
    start = 0
    while len(encoded) - start > _CHUNK_OCTETS:
        end = start + _CHUNK_OCTETS
        while (encoded[end] & 0xC0) == 0x80:
            end -= 1  # back to the start of a character
        if encoded[end - 1] in b"\\^":
            end -= 1  # an escape stays whole: it starts the next line
        parts.append(encoded[start:end])
        start = end
    parts.append(encoded[start:])
    return b"\r\n ".join(parts).decode()


def _minutes(before: int) -> str:
    if before == 0:
        return "P0D"
    days, minutes = divmod(before, 1440)
    hours, minutes = divmod(minutes, 60)
    text = f"-P{days}D" if days else "-P"
    if hours or minutes:
        text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text


def _alarms(task: Mapping[str, Any], out: list[str]) -> None:
    description = _fold(f"DESCRIPTION:{_text(task['title'])}")
    for reminder in task["reminders"]:
        out += ["BEGIN:VALARM", "ACTION:DISPLAY", description]
        if reminder["at"] is not None:
            at = datetime.fromisoformat(reminder["at"])
            out.append(f"TRIGGER;VALUE=DATE-TIME:{_utc(at)}")
        else:
            out.append(f"TRIGGER;RELATED=END:{_minutes(reminder['before_minutes'])}")
        out.append("END:VALARM")


def write(task: Mapping[str, Any], uid: str, parent_uid: str | None) -> bytes:
    """The task as an iCalendar object holding its VTODO."""
    out: list[str] = [_HEAD]
    if task["tags"]:
        out.append(_fold("CATEGORIES:" + ",".join(_text(tag) for tag in task["tags"])))
    done = task["completed"] and task["completed_at"] is not None
    if done:
        out.append(f"COMPLETED:{_utc(task['completed_at'])}")
    out.append(f"CREATED:{_utc(task['created_at'])}")
    if task["description"] is not None:
        out.append(_fold(f"DESCRIPTION:{_text(task['description'])}"))
    modified = _utc(task["updated_at"])
    out.append(f"DTSTAMP:{modified}")
    if task["due_at"] is not None:
        out.append(f"DUE:{_utc(task['due_at'])}")
    elif task["due_date"] is not None:
        out.append(f"DUE;VALUE=DATE:{_day(task['due_date'])}")
    out.append(f"LAST-MODIFIED:{modified}")
    if done:
        out.append("PERCENT-COMPLETE:100")
    if priority := _PRIORITY_VALUES[task["priority"]]:
        out.append(f"PRIORITY:{priority}")
    if parent_uid is not None:
        out.append(_fold(f"RELATED-TO;RELTYPE=PARENT:{_text(parent_uid)}"))
    if task["recurrence"]:
        rule = f"RRULE:FREQ={task['recurrence'].upper()}"
        if task["recurrence_interval"] != 1:
            rule += f";INTERVAL={task['recurrence_interval']}"
        out.append(rule)
    out.append("STATUS:COMPLETED" if task["completed"] else "STATUS:NEEDS-ACTION")
    out.append(_fold(f"SUMMARY:{_text(task['title'])}"))
    out.append(_fold(f"UID:{_text(uid)}"))
    out.append(f"X-APPLE-SORT-ORDER:{sort_order(task['position'])}")
    if task["reminders"]:
        _alarms(task, out)
    out.append(_TAIL)
    return "\r\n".join(out).encode()
