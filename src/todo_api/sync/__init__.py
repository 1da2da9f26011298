"""Sync: the change log every write is recorded in (for every kind of record), its horizon, the
live event streams that follow it across processes, and `/changes` and `/events`.

This module is the domain's public face: other domains import what they need from here.
"""

from todo_api.sync.cursors import ChangeCursor, CursorExpired
from todo_api.sync.dependencies import HorizonDep
from todo_api.sync.feed import (
    Alongside,
    LoggedChange,
    cursor,
    cursor_at,
    entries,
    epoch,
    epoch_columns,
    epoch_of,
    has_changes,
    newest_position,
    states_at,
)
from todo_api.sync.feed import read as read_changes
from todo_api.sync.horizon import ChangeHorizon
from todo_api.sync.schemas import change_model

__all__ = [
    "Alongside",
    "ChangeCursor",
    "ChangeHorizon",
    "CursorExpired",
    "HorizonDep",
    "LoggedChange",
    "change_model",
    "cursor",
    "cursor_at",
    "entries",
    "epoch",
    "epoch_columns",
    "epoch_of",
    "has_changes",
    "newest_position",
    "read_changes",
    "states_at",
]
