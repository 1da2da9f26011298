"""The direct writer of a task's iCalendar (`plain.py`) writes what the icalendar library's
rendering writes, byte for byte, for tasks of every shape."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from icalendar import Calendar

from tests.calendars.rows import NOW
from tests.calendars.rows import TASK_ROW as BASE
from todo_api.calendars.dav.plain import write
from todo_api.calendars.dav.render import render

SHAPES = {
    "plain": {},
    "escaped text": {
        "title": "Milk, eggs; bread \\ more",
        "description": "Line one\nLine two, with; marks",
    },
    "line breaks of every kind": {"title": "one\rtwo", "description": "a\r\nb\nc\r"},
    "long unicode": {"title": "Ünïcödé " * 30, "description": "日本語のテキスト" * 40},
    # Escapes where the library folds: it never ends a line with `\` (nor `^`).
    "escapes at the fold": {
        "title": "x" * 64 + ",,,,," + "y" * 80,
        "description": "z" * 61 + "\\" * 40 + "^" * 20,
        "tags": ["t" * 59 + ";" + "u" * 20],
    },
    "completed": {"completed": True, "completed_at": NOW, "priority": 3},
    "due day, tags, rule": {
        "due_date": date(2026, 12, 24),
        "tags": ["home", "a,b"],
        "priority": 1,
        "recurrence": "weekly",
        "recurrence_interval": 2,
    },
    "due time and reminders": {
        "due_date": date(2026, 12, 24),
        "due_at": datetime(2026, 12, 24, 9, 0, tzinfo=UTC),
        "priority": 2,
        "recurrence": "monthly",
        "reminders": [
            {"at": None, "before_minutes": 0},
            {"at": None, "before_minutes": 90},
            {"at": None, "before_minutes": 1441},
            {"at": "2026-12-23T08:00:00Z", "before_minutes": None},
        ],
    },
}


def _lines(component: Any) -> list[tuple[str, str, str]]:
    found = []
    for name, value in component.items():
        for prop in value if isinstance(value, list) else [value]:
            params = ";".join(f"{k}={v}" for k, v in sorted(prop.params.items()))
            found.append((name, params, prop.to_ical().decode()))
    return sorted(found)


def _parsed(ical: bytes) -> list[tuple[str, list[tuple[str, str, str]]]]:
    return [(component.name, _lines(component)) for component in Calendar.from_ical(ical).walk()]


@pytest.mark.parametrize("parent_uid", [None, "parent,uid;1"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_the_direct_writer_writes_what_the_library_writes(
    shape: dict[str, Any], parent_uid: str | None
) -> None:
    task = BASE | shape
    written = write(task, "task-7@todo-api", parent_uid)
    assert written == render(task, "task-7@todo-api", parent_uid, None)
    assert _parsed(written) == _parsed(render(task, "task-7@todo-api", parent_uid, None))


def test_a_backslash_before_n_stays_a_backslash() -> None:
    # The library reads `\N` in a title as a line break before escaping it; the title is
    # the user's text, so the direct writer escapes the backslash.
    title = "C:\\New folder"
    todo = Calendar.from_ical(write(BASE | {"title": title}, "task-7@todo-api", None)).walk()[1]
    assert str(todo["SUMMARY"]) == title


def test_long_lines_are_folded_at_75_octets() -> None:
    ical = write(BASE | SHAPES["long unicode"], "task-7@todo-api", None)
    assert max(len(line) for line in ical.split(b"\r\n")) <= 75
