"""What a list's writes put in its owner's change log: the list's JSON as `GET` shows it right
after the write, written once and served as it is by `/changes`, the event streams and
webhooks."""

from collections.abc import Mapping
from datetime import datetime

from todo_api.core.clock import utcnow
from todo_api.core.database import Change, NewRecord
from todo_api.tasks.lists.events import KIND, ListEvent
from todo_api.tasks.lists.models import ListRow
from todo_api.tasks.lists.schemas import ListRead


def list_json(row: ListRow) -> str:
    """The list as clients see it."""
    return ListRead.model_validate(row).model_dump_json()


def created(values: Mapping[str, object], now: datetime) -> NewRecord:
    """The change that logs a list about to be inserted with `values` (`owner`, `name`,
    `color`, `position`) at `now`."""
    shown = ListRead(
        id=0,
        name=str(values["name"]),
        color=values["color"] if isinstance(values["color"], str) else None,
        position=str(values["position"]),
        created_at=now,
        updated_at=now,
        version=1,
    )
    owner = str(values["owner"])
    return NewRecord(KIND, ListEvent.created, shown.model_dump_json(), now, (owner,))


def updated(row: ListRow) -> Change:
    """The change that logs a list's new state."""
    return Change(
        KIND, ListEvent.updated, row["id"], list_json(row), row["updated_at"], (row["user_id"],)
    )


def deleted(user_id: str, list_id: int) -> Change:
    """The tombstone of a deleted list."""
    return Change(KIND, ListEvent.deleted, list_id, None, utcnow(), (user_id,))
