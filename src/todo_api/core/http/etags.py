"""Entity tags of records, and the conditional headers that name them (RFC 9110, section 13)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from todo_api.core.errors import PreconditionFailed


def etag(record: Mapping[str, Any]) -> str:
    """The record's entity tag: its version, which every write bumps, and its creation time
    (SQLite may reuse the id of a deleted record; the new one must not match the old tag)."""
    created = record["created_at"]
    if isinstance(created, str):  # a stored response body
        created = datetime.fromisoformat(created)
    return f'"{record["version"]}-{round(created.timestamp() * 1_000_000):x}"'


def _tags_in(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def expected_version(if_match: str | None, record: Mapping[str, Any], kind: str) -> int | None:
    """The version a write must find (None: any), or PreconditionFailed if already stale.

    Compared with the record the request already loaded, so it costs no query.
    """
    if if_match is None:
        return None
    tags = _tags_in(if_match)
    if "*" in tags:
        return None
    if etag(record) not in tags:  # strong comparison: a weak W/"…" never matches
        raise PreconditionFailed(kind, record["id"])
    version: int = record["version"]
    return version


def not_modified(if_none_match: str | None, record: Mapping[str, Any]) -> bool:
    """Whether `If-None-Match` names the record's current version (weak comparison)."""
    if if_none_match is None:
        return False
    tags = [tag.removeprefix("W/") for tag in _tags_in(if_none_match)]
    return "*" in tags or etag(record) in tags
