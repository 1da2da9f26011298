"""What can happen to a task: the names of its changes' types (and of its webhook events)."""

from enum import StrEnum

# The kind of record a task is, in the change log: its changes show `task_id` and `task`.
KIND = "task"


class TaskEvent(StrEnum):
    """What happened to a task: the `type` of its changes (and of its webhook events)."""

    created = "task.created"
    updated = "task.updated"
    deleted = "task.deleted"
    # One of its reminders went off (the task shows which, with `fired_at`).
    reminder_due = "reminder.due"
