"""The tasks' failures, each answered with its status by the one error handler."""

from todo_api.core.errors import Conflict, FieldRefused, NotFound, Unprocessable


class TaskNotFound(NotFound):
    """No task with that id belongs to the caller (it may belong to somebody else)."""

    default_detail = "Task not found"

    def __init__(self, task_id: int) -> None:
        super().__init__()
        self.task_id = task_id


class TaskLimitReached(Conflict):
    """The user already holds as many tasks as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Task limit reached: one user may hold at most {limit} tasks")
        self.limit = limit


class IdempotentTaskDeleted(Conflict):
    """A retry whose Idempotency-Key created a task that has been deleted since."""

    default_detail = "The task this Idempotency-Key created has been deleted since"


class IdempotencyKeyReused(Unprocessable):
    """An `Idempotency-Key` came back with a different request body."""

    default_detail = "This Idempotency-Key was already used with a different request body"


class RemindersNeedDueTime(FieldRefused):
    """A reminder with `before_minutes` on a task without `due_at` (or losing it)."""

    def __init__(self) -> None:
        super().__init__("reminders", "Reminders with before_minutes need the task's due_at")


class ReminderTooEarly(FieldRefused):
    """A reminder that would go off before the calendar's first day."""

    def __init__(self) -> None:
        super().__init__("reminders", "A reminder that early would go off before the year 1")


class TooDeep(FieldRefused):
    """A write or move that would put a task (or the deepest of its subtasks) below the
    deepest level a subtask may have."""

    def __init__(self, field: str, max_depth: int) -> None:
        super().__init__(field, f"Subtasks go at most {max_depth} levels deep")


class UnderItself(FieldRefused):
    """A task cannot be a subtask of itself, or of one of its own subtasks."""

    def __init__(self) -> None:
        super().__init__("parent_id", "A task cannot go under itself or one of its subtasks")


class ParentInOtherList(FieldRefused):
    """`parent_id` and `list_id` disagree: a subtask is in its parent's list."""

    def __init__(self) -> None:
        super().__init__("list_id", "A subtask is in its parent's list: leave list_id out")


class NotASibling(FieldRefused):
    """`after_id`/`before_id` names a task of another list or parent than the spot moved to
    (or the moving task itself)."""

    def __init__(self, field: str) -> None:
        super().__init__(field, f"{field} must be another task of the same list and parent")


class ParentNotFound(NotFound):
    """`parent_id` names no task of the caller's (it may be somebody else's)."""

    default_detail = "Parent task not found"

    def __init__(self, task_id: int) -> None:
        super().__init__()
        self.task_id = task_id
