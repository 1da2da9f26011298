"""Task schemas: the rows-to-JSON fast path says exactly what TaskRead says."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from todo_api.tasks.schemas import TaskRead
from todo_api.tasks.views import SHOWN_COLUMNS, task_json, tasks_json

NOW = datetime.now(UTC).replace(microsecond=123456)


def row(**fields: object) -> dict[str, object]:
    """A task row as the database returns it (priority as its rank, extra columns included)."""
    return {
        "id": 7,
        "user_id": "alice",
        "list_id": None,
        "parent_id": None,
        "position": "i8E94NInKd3v5",
        "title": "Buy milk",
        "description": None,
        "completed": False,
        "created_at": NOW - timedelta(days=2),
        "updated_at": NOW,
        "completed_at": None,
        "priority": 0,
        "due_date": None,
        "due_at": None,
        "tags": [],
        "recurrence": None,
        "recurrence_interval": 1,
        "recurrence_anchor": None,
        "next_occurrence_id": None,
        "version": 1,
        "reminders": [],
        "next_reminder_at": None,
        "subtask_count": 0,
        "completed_subtask_count": 0,
        "created_by": "alice",
        "completed_by": None,
        "sort_key": "buy milk",
    } | fields


ROWS = [
    row(),
    row(description="Two litres", priority=3, tags=["Work", "home"], version=4),
    row(priority=1, due_at=NOW - timedelta(hours=1), due_date=(NOW - timedelta(hours=1)).date()),
    row(priority=2, due_at=NOW + timedelta(hours=1), due_date=(NOW + timedelta(hours=1)).date()),
    row(due_date=date(2000, 1, 1), recurrence="weekly", recurrence_interval=2),
    row(due_date=NOW.date(), next_occurrence_id=9),
    row(completed=True, completed_at=NOW, completed_by="bob", due_date=date(2000, 1, 1)),
    row(created_at=datetime(2030, 1, 1, tzinfo=UTC), title='ünïcode \u2028 "quoted"'),
    row(list_id=3, parent_id=5, position="a0V", subtask_count=4, completed_subtask_count=1),
]


@pytest.mark.parametrize("task", ROWS, ids=range(len(ROWS)))
def test_task_json_is_taskread_json(task: dict[str, object]) -> None:
    expected = TaskRead.model_validate(task).model_dump_json()
    assert task_json(dict(task)) == expected.encode()


def test_tasks_json_is_a_list_of_taskread_json() -> None:
    expected = [TaskRead.model_validate(task).model_dump_json() for task in ROWS]
    assert tasks_json([dict(task) for task in ROWS]) == f"[{','.join(expected)}]".encode()


def test_a_listing_row_of_just_the_shown_columns_gives_the_same_json() -> None:
    listed = [{name: task[name] for name in SHOWN_COLUMNS} for task in ROWS]
    assert tasks_json(listed) == tasks_json([dict(task) for task in ROWS])


def test_task_json_has_every_field_clients_see_in_their_order() -> None:
    shown = TaskRead.model_json_schema(mode="serialization")["properties"]
    assert list(json.loads(task_json(row()))) == list(shown)
