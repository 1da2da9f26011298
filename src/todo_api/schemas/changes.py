"""Sync: the change log as clients read it, and the ticket that opens an event stream."""

from pydantic import BaseModel, Field

from todo_api.schemas.tasks import TaskRead


class ChangeRead(BaseModel):
    """One committed write to a task."""

    id: str = Field(description="This change's cursor (pass it as `since`, or `Last-Event-ID`).")
    type: str = Field(description="`task.created`, `task.updated` or `task.deleted`.")
    task_id: int
    task: TaskRead | None = Field(description="The task after the write; null once deleted.")
    at: str = Field(description="When the write happened (UTC).")


class ChangePage(BaseModel):
    """Changes after `since`, oldest first."""

    changes: list[ChangeRead]
    next: str = Field(description="The `since` of the next request.")
    more: bool = Field(description="Whether more changes follow right away.")


class Ticket(BaseModel):
    """What opens one event stream without an Authorization header (`?ticket=`)."""

    ticket: str
    expires_in: int
