"""The events a webhook can be sent: every kind of record's change types, in one order.

A webhook stores the events it subscribes to as bits (`webhook.events`), each event's bit its
index here: only ever append.
"""

from todo_api.tasks import TaskEvent

WebhookEvent = TaskEvent
EVENTS: tuple[WebhookEvent, ...] = tuple(TaskEvent)


def event_mask(events: list[WebhookEvent]) -> int:
    """The `webhook.events` bits for these events."""
    return sum(1 << EVENTS.index(event) for event in set(events))


def event_names(mask: int) -> list[WebhookEvent]:
    """The events a `webhook.events` value subscribes to."""
    return [event for bit, event in enumerate(EVENTS) if mask & (1 << bit)]


def subscribes(mask: int, event_type: str) -> bool:
    """Whether a webhook with these bits is sent events of this type."""
    return any(mask & (1 << bit) for bit, event in enumerate(EVENTS) if event == event_type)
