"""The events a webhook can be sent: every kind of record's change types, in one order.

A webhook stores the events it subscribes to as bits (`webhook.events`), each event's bit its
index here: only ever append.
"""

from enum import StrEnum

from todo_api.tasks import ListEvent, TaskEvent


class WebhookEvent(StrEnum):
    """A change type a webhook can subscribe to (each kind of record's, and `reminder.due`)."""

    task_created = TaskEvent.created.value
    task_updated = TaskEvent.updated.value
    task_deleted = TaskEvent.deleted.value
    reminder_due = TaskEvent.reminder_due.value
    list_created = ListEvent.created.value
    list_updated = ListEvent.updated.value
    list_deleted = ListEvent.deleted.value
    list_joined = ListEvent.joined.value
    list_left = ListEvent.left.value


# Bit order: the first four are what webhooks stored before lists came.
EVENTS: tuple[WebhookEvent, ...] = tuple(WebhookEvent)


def event_mask(events: list[WebhookEvent]) -> int:
    """The `webhook.events` bits for these events."""
    return sum(1 << EVENTS.index(event) for event in set(events))


def event_names(mask: int) -> list[WebhookEvent]:
    """The events a `webhook.events` value subscribes to."""
    return [event for bit, event in enumerate(EVENTS) if mask & (1 << bit)]


def subscribes(mask: int, event_type: str) -> bool:
    """Whether a webhook with these bits is sent events of this type."""
    return any(mask & (1 << bit) for bit, event in enumerate(EVENTS) if event == event_type)
