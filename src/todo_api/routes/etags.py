"""Entity tags of tasks, and the conditional headers that name them (RFC 9110, section 13)."""

from datetime import datetime
from typing import Any

from todo_api.errors import PreconditionFailed
from todo_api.models import TaskRow


def etag(task: TaskRow | dict[str, Any]) -> str:
    """The task's entity tag: its version, which every write bumps, and its creation time
    (SQLite may reuse the id of a deleted task; the new one must not match the old tag)."""
    created = task["created_at"]
    if isinstance(created, str):  # a stored response body
        created = datetime.fromisoformat(created)
    return f'"{task["version"]}-{round(created.timestamp() * 1_000_000):x}"'


def _tags_in(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def expected_version(if_match: str | None, task: TaskRow) -> int | None:
    """The version a write must find (None: any), or PreconditionFailed if already stale.

    Compared with the task the request already loaded, so it costs no query.
    """
    if if_match is None:
        return None
    tags = _tags_in(if_match)
    if "*" in tags:
        return None
    if etag(task) not in tags:  # strong comparison: a weak W/"…" never matches
        raise PreconditionFailed(task["id"])
    return task["version"]


def not_modified(if_none_match: str | None, task: TaskRow) -> bool:
    """Whether `If-None-Match` names the task's current version (weak comparison)."""
    if if_none_match is None:
        return False
    tags = [tag.removeprefix("W/") for tag in _tags_in(if_none_match)]
    return "*" in tags or etag(task) in tags
