"""A recurring task's next occurrence: the task completing it creates, due one period later,
with its subtasks (copies, reopened, due as much later as it is).

Undoing the completion deletes the occurrence again (and its subtasks), unless it is done too.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from todo_api.core import positions
from todo_api.core.clock import utcnow
from todo_api.core.database import UnitOfWork
from todo_api.tasks import logged, repository, tree
from todo_api.tasks.models import TaskRow
from todo_api.tasks.recurrence import next_due
from todo_api.tasks.reminders import carried_over, next_fire_at
from todo_api.tasks.schemas import Recurrence


def _later(value: Any, shift: timedelta) -> Any:
    return None if value is None else value + shift


def _occurrence(
    task: Mapping[str, Any], shift: tuple[timedelta, timedelta], now: datetime
) -> dict[str, Any]:
    """The values of a copy of `task`, pending, due as much later as `shift` (days, time)."""
    days, time = shift
    due_date, due_at = _later(task["due_date"], days), _later(task["due_at"], time)
    reminders = carried_over(
        task["reminders"], (task["due_at"], task["due_date"]), (due_at, due_date)
    )
    return {name: task[name] for name in repository.CREATED_FIELDS} | {
        "completed": False,
        "completed_at": None,
        "completed_by": None,
        "due_date": due_date,
        "due_at": due_at,
        "reminders": reminders,
        "next_reminder_at": next_fire_at(reminders),
        "position": positions.created(now),
    }


async def create_next(
    uow: UnitOfWork, task: dict[str, Any], below: list[TaskRow], now: datetime
) -> TaskRow | None:
    """Insert the series' next occurrence after `task` (its values as they will be stored),
    and copies of its subtasks `below`; None past the end of the calendar."""
    current_due = task["due_date"] or now.date()
    anchor = task["recurrence_anchor"] or current_due
    due = next_due(current_due, Recurrence(task["recurrence"]), task["recurrence_interval"], anchor)
    if due is None:  # past the end of the calendar: the series ends here
        return None
    days = due - current_due
    due_at = task["due_at"]
    time = timedelta(0) if due_at is None else _next_time(due_at, due) - due_at
    values = _occurrence(task, (days, time), now) | {"due_date": due, "recurrence_anchor": anchor}
    occurrence = await repository.create(uow, values, now, logged.created(values, now))
    copies = {task["id"]: occurrence["id"]}
    for subtask in below:  # parents first: each copy's parent is copied already
        try:
            copy = _occurrence(subtask, (days, time), now)
        except OverflowError:  # a subtask due past the calendar's end keeps its day
            copy = _occurrence(subtask, (timedelta(0), timedelta(0)), now)
        copy["parent_id"] = copies[subtask["parent_id"] or 0]
        inserted = await repository.create(uow, copy, now, logged.created(copy, now))
        copies[subtask["id"]] = inserted["id"]
    if below:
        await tree.refresh_counts(uow, task["user_id"], copies.values())
        return await repository.get(uow.db, task["user_id"], occurrence["id"])
    return occurrence


def _next_time(due_at: datetime, day: Any) -> datetime:
    # The same time of day (UTC), on the next occurrence's day.
    return datetime.combine(day, due_at.astimezone(UTC).time(), UTC)


async def delete_if_pending(uow: UnitOfWork, owner: str, occurrence_id: int) -> None:
    """Delete the occurrence (and its subtasks, each a logged deletion) unless it is done."""
    occurrence = await tree.lock(uow.db, owner, occurrence_id)
    if occurrence is None or occurrence["completed"]:
        return
    below = await tree.subtree(uow.db, owner, occurrence_id, held=True)
    ids = await repository.delete_ids(uow.db, owner, [occurrence_id, *(t["id"] for t in below)])
    now = utcnow()
    list_id = occurrence["list_id"]
    uow.record(*(logged.deleted(owner, task_id, now, list_id) for task_id in ids))
