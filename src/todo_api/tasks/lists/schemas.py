"""A list as clients send it (create, PATCH, move) and see it (`ListRead`, its change)."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, WithJsonSchema

from todo_api.sync import change_model
from todo_api.tasks.fields import ListName, Neighbours
from todo_api.tasks.lists.events import KIND, ListEvent
from todo_api.tasks.lists.models import ListFields, ListRow
from todo_api.tasks.sharing.models import Role

# The colors a list may have by name (as the apps that show lists name theirs), or `#rrggbb`.
PALETTE = ("red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown", "grey")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _color(value: str) -> str:
    if value in PALETTE:
        return value
    if _HEX.fullmatch(value):
        return value.lower()
    raise ValueError(f"must be one of {', '.join(PALETTE)}, or #rrggbb")


Color = Annotated[
    str,
    AfterValidator(_color),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(PALETTE)},
                {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
            ],
            "examples": ["blue", "#3366ff"],
        }
    ),
]


class ListCreate(BaseModel):
    """A new list (it goes last). Unknown fields are ignored."""

    name: ListName
    color: Color | None = None


# A field that may be left out but not sent as null: absent, it reads as None.
_ABSENT: Any = None


class ListPatch(BaseModel):
    """PATCH, JSON merge semantics: absent fields are untouched, a null color clears it."""

    name: ListName = _ABSENT
    color: Color | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to write."""
        return self.model_dump(include=self.model_fields_set)


class ListMove(Neighbours):
    """Where a list goes: right after the list `after_id`, right before `before_id`, or first
    when neither is sent."""


class ListRead(ListFields):
    """A list as clients see it. `version` changes with every write of the list (the ETag
    carries it); `task_count` counts its tasks, subtasks and completed ones included."""

    id: int
    task_count: int = 0
    # The reader's: their own lists' `owner`; a list shared with them, `editor` or `viewer`.
    # Left out of a list's changes (its members each have their own), but for `list.joined`.
    role: Role | None = Role.owner
    # Whose list it is.
    owner_id: str | None = None

    @classmethod
    def of(cls, row: ListRow) -> "ListRead":
        """The list a row holds (its `role` the reader's, when read for one)."""
        return cls.model_validate(row | {"owner_id": row["user_id"]})


# A change to a list, as `/changes`, the event streams and webhooks carry it.
ListChange = change_model(KIND, ListRead, ListEvent)
