"""Sync's answers: a change to each kind of record, a page of them, and the ticket that opens
an event stream."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, create_model


def change_model(kind: str, record: type[BaseModel], events: type[StrEnum]) -> type[BaseModel]:
    """The model of a change to a record of `kind` (shown as `record`, its changes' types
    `events`), in the order its JSON has (`feed.LoggedChange.json`): `id`, `type`,
    `<kind>_id`, `<kind>` (null once deleted), `at`."""
    fields: dict[str, Any] = {
        "id": (
            str,
            Field(description="This change's cursor (pass it as `since`, or `Last-Event-ID`)."),
        ),
        "type": (events, Field(description="What happened.")),
        f"{kind}_id": (int, ...),
        kind: (record | None, Field(description=f"The {kind} after the write; null once deleted.")),
        "at": (str, Field(description="When the write happened (UTC).")),
    }
    name = f"{kind.title()}Change"
    return create_model(name, __doc__=f"A change to a {kind}.", **fields)


def change_page_model(change: Any) -> type[BaseModel]:
    """The model of a page of changes, `change` being a kind's change model (or a union)."""
    return create_model(
        "ChangePage",
        __doc__="Changes after `since`, oldest first.",
        changes=(list[change], ...),
        next=(str, Field(description="The `since` of the next request.")),
        more=(bool, Field(description="Whether more changes follow right away.")),
    )


class Ticket(BaseModel):
    """What opens one event stream without an Authorization header (`?ticket=`)."""

    ticket: str
    expires_in: int
