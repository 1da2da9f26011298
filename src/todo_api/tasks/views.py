"""Tasks as clients see them, written as JSON straight from their rows.

FastAPI would build and validate a `TaskRead` per row before serialising it; orjson writes what
pydantic writes for `TaskRead` (UTC as `Z`) from the row itself. A differential test pins the
two together.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import orjson

from todo_api.tasks.models import TaskRow
from todo_api.tasks.schemas import PRIORITIES, TaskRead, is_overdue

# The stored columns clients see, in TaskRead's order: what a listing selects.
SHOWN_COLUMNS = tuple(TaskRead.model_fields)
# orjson writes what pydantic writes for TaskRead (UTC as `Z`), without a model per row.
_JSON_OPTIONS = orjson.OPT_UTC_Z
# The names as plain strings: orjson writes them faster than the enum members.
_PRIORITY_NAMES = tuple(priority.value for priority in PRIORITIES)


def _shown(row: TaskRow, now: datetime) -> dict[str, object]:
    # A whole table row, or a listing's with its sort key: keep what clients see, in order.
    fields = cast(dict[str, object], row)
    if len(fields) != len(SHOWN_COLUMNS):
        fields = {name: fields[name] for name in SHOWN_COLUMNS}
    fields["priority"] = _PRIORITY_NAMES[row["priority"]]
    fields["overdue"] = is_overdue(row["completed"], row["due_at"], row["due_date"], now)
    return fields


def task_json(row: TaskRow) -> bytes:
    """A task row as the TaskRead JSON that clients get (the row may be changed in place)."""
    return orjson.dumps(_shown(row, datetime.now(UTC)), option=_JSON_OPTIONS)


def tasks_json(rows: Sequence[TaskRow]) -> bytes:
    """Task rows as a JSON array of TaskRead (the rows may be changed in place).

    Rows holding just SHOWN_COLUMNS, in order, are written as they are. FastAPI would build
    and validate a TaskRead per row before serialising it.
    """
    now = datetime.now(UTC)
    return orjson.dumps([_shown(row, now) for row in rows], option=_JSON_OPTIONS)
