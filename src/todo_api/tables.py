"""Every table of the service, each domain's, registered on SQLModel's metadata: what Alembic
compares the migrations with."""

from todo_api.accounts.app_passwords.models import AppPassword
from todo_api.accounts.models import Credential, EmailVerification, SignInEvent, User
from todo_api.calendars import CalendarObject
from todo_api.notifications.reminders.models import ReminderEmail
from todo_api.notifications.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from todo_api.sync.models import ChangeEntry, ChangeLog, SpentTicket
from todo_api.tasks.lists.models import TaskList
from todo_api.tasks.models import IdempotencyKey, Task
from todo_api.tasks.sharing.models import ListInvitation, ListMember

__all__ = [
    "AppPassword",
    "CalendarObject",
    "ChangeEntry",
    "ChangeLog",
    "Credential",
    "EmailVerification",
    "IdempotencyKey",
    "ListInvitation",
    "ListMember",
    "ReminderEmail",
    "SignInEvent",
    "SpentTicket",
    "Task",
    "TaskList",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
