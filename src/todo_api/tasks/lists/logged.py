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
    """The list as its changes show it: as clients see it, but for the reader's role."""
    return ListRead.of(row).model_dump_json(exclude={"role"})


def joined(row: ListRow, member: str, role: str, at: datetime) -> Change:
    """The change that tells a new member about the list they are now in."""
    shown = ListRead.of(row | {"role": role})
    return Change(KIND, ListEvent.joined, row["id"], shown.model_dump_json(), at, (member,))


def left(list_id: int, member: str, at: datetime) -> Change:
    """The change that tells a member who left (or was removed) that the list is gone for
    them: nothing of it reaches their feed after this."""
    return Change(KIND, ListEvent.left, list_id, None, at, (member,))


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
        owner_id=str(values["owner"]),
    )
    owner = str(values["owner"])
    data = shown.model_dump_json(exclude={"role"})
    return NewRecord(KIND, ListEvent.created, data, now, (owner,))


def updated(row: ListRow) -> Change:
    """The change that logs a list's new state, for its owner and members."""
    feeds = (row["user_id"],)
    at = row["updated_at"]
    return Change(KIND, ListEvent.updated, row["id"], list_json(row), at, feeds, row["id"])


def deleted(feeds: tuple[str, ...], list_id: int) -> Change:
    """The tombstone of a deleted list, for `feeds` (its owner and members: by then the
    members are gone with it)."""
    return Change(KIND, ListEvent.deleted, list_id, None, utcnow(), feeds)
