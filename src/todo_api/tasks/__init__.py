"""Tasks: what a user has to do (the guidelines' CRUD and toggle, and priorities, tags, due
dates, recurrence, reminders, search and bulk writes), each write logged for sync.

This module is the domain's public face: other domains import what they need from here.
"""

from todo_api.tasks.creation import create_task
from todo_api.tasks.due_reminders import (
    Fired,
    ReminderSubject,
    fire_due_reminders,
    next_reminder_at,
    reminder_subject,
)
from todo_api.tasks.events import TaskEvent
from todo_api.tasks.fields import (
    Description,
    DueAt,
    Interval,
    IsoDay,
    ListName,
    SearchText,
    Tag,
    Tags,
    Title,
)
from todo_api.tasks.listing import StatusFilter, TaskListQuery, TaskSort
from todo_api.tasks.lists.events import ListEvent
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.lists.schemas import ListChange, ListCreate, ListRead
from todo_api.tasks.lists.service import create_list, find_list, lists_of
from todo_api.tasks.models import TaskRow
from todo_api.tasks.reading import list_tasks, task_stats, tasks_by_ids
from todo_api.tasks.repository import TASK
from todo_api.tasks.schemas import (
    Priority,
    Recurrence,
    TaskChange,
    TaskCreate,
    TaskMove,
    TaskPatch,
    TaskRead,
    TaskStats,
)
from todo_api.tasks.service import delete_task, get_task, move_task, update_task
from todo_api.tasks.sharing.access import Shared, list_for, task_for, writable_task
from todo_api.tasks.sharing.models import Role
from todo_api.tasks.views import tasks_json

__all__ = [
    "TASK",
    "Description",
    "DueAt",
    "Fired",
    "Interval",
    "IsoDay",
    "ListChange",
    "ListCreate",
    "ListEvent",
    "ListName",
    "ListRead",
    "ListRow",
    "Priority",
    "Recurrence",
    "ReminderSubject",
    "Role",
    "SearchText",
    "Shared",
    "StatusFilter",
    "Tag",
    "Tags",
    "TaskChange",
    "TaskCreate",
    "TaskEvent",
    "TaskListQuery",
    "TaskMove",
    "TaskPatch",
    "TaskRead",
    "TaskRow",
    "TaskSort",
    "TaskStats",
    "Title",
    "create_list",
    "create_task",
    "delete_task",
    "find_list",
    "fire_due_reminders",
    "get_task",
    "list_for",
    "list_tasks",
    "lists_of",
    "move_task",
    "next_reminder_at",
    "reminder_subject",
    "task_for",
    "task_stats",
    "tasks_by_ids",
    "tasks_json",
    "update_task",
    "writable_task",
]
