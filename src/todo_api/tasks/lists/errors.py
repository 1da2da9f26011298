"""The lists' failures, each answered with its status by the one error handler."""

from todo_api.core.errors import Conflict, NotFound


class ListNotFound(NotFound):
    """No list with that id belongs to the caller (it may belong to somebody else)."""

    default_detail = "List not found"

    def __init__(self, list_id: int) -> None:
        super().__init__()
        self.list_id = list_id


class ListLimitReached(Conflict):
    """The user already holds as many lists as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"List limit reached: one user may hold at most {limit} lists")
        self.limit = limit
