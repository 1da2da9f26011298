"""Tasks: what a user has to do (the guidelines' CRUD and toggle, and priorities, tags, due
dates, recurrence, reminders, search and bulk writes), each write logged for sync.

This module is the domain's public face: other domains import what they need from here.
"""

from todo_api.tasks.due_reminders import (
    Fired,
    ReminderSubject,
    fire_due_reminders,
    next_reminder_at,
    reminder_subject,
)
from todo_api.tasks.events import TaskEvent
from todo_api.tasks.fields import Description, DueAt, Interval, IsoDay, SearchText, Tag, Tags, Title
from todo_api.tasks.listing import StatusFilter, TaskListQuery, TaskSort
from todo_api.tasks.reading import list_tasks, task_stats
from todo_api.tasks.schemas import (
    Priority,
    Recurrence,
    TaskChange,
    TaskCreate,
    TaskPatch,
    TaskRead,
    TaskStats,
)
from todo_api.tasks.service import create_task, delete_task, get_task, update_task
from todo_api.tasks.views import tasks_json

__all__ = [
    "Description",
    "DueAt",
    "Fired",
    "Interval",
    "IsoDay",
    "Priority",
    "Recurrence",
    "ReminderSubject",
    "SearchText",
    "StatusFilter",
    "Tag",
    "Tags",
    "TaskChange",
    "TaskCreate",
    "TaskEvent",
    "TaskListQuery",
    "TaskPatch",
    "TaskRead",
    "TaskSort",
    "TaskStats",
    "Title",
    "create_task",
    "delete_task",
    "fire_due_reminders",
    "get_task",
    "list_tasks",
    "next_reminder_at",
    "reminder_subject",
    "task_stats",
    "tasks_json",
    "update_task",
]
