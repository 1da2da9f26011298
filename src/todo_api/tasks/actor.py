"""Who is writing: the caller of the request (or tool call) under way, for the tasks'
`created_by` and `completed_by`.

A task of a shared list is written by its members as well as its owner, through every path
that completes tasks (a toggle, PUT or PATCH, a bulk call, a parent's completion, a series'
next occurrence); the caller is set once, where the request is authorised, rather than handed
down through each of them. Unset (a background job), the task's owner is taken.
"""

from contextvars import ContextVar

_ACTING: ContextVar[str | None] = ContextVar("acting_user", default=None)


def act_as(user_id: str) -> None:
    """Writes from here on (in this request's context) are this user's."""
    _ACTING.set(user_id)


def current() -> str | None:
    """The user writing, if a request set one."""
    return _ACTING.get()
