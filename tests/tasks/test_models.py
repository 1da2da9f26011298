"""Tables and their row types: one declaration of a task's columns, the row type following it."""

from typing import get_type_hints

from todo_api.tasks.models import Task, TaskRow


def test_a_task_row_has_every_column_of_the_task_table_in_its_order() -> None:
    assert list(get_type_hints(TaskRow)) == [column.name for column in Task.__table__.columns]
