"""Tasks: listing, creating, changing and deleting one user's todo items."""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_api.auth import Principal
from todo_api.models import Task, utcnow
from todo_api.schemas import StatusFilter, TaskCreate, TaskUpdate
from todo_api.services.users import KnownUsers, ensure_user

# Task ids are a 32-bit column: larger ids cannot exist, and PostgreSQL rejects them outright.
MAX_TASK_ID = 2**31 - 1


async def list_tasks(
    session: AsyncSession, user_id: str, status: StatusFilter = StatusFilter.all
) -> Sequence[Task]:
    """The user's tasks in creation order, optionally only pending or completed ones."""
    query = select(Task).where(Task.user_id == user_id)
    if status is not StatusFilter.all:
        query = query.where(Task.completed == (status is StatusFilter.completed))
    result = await session.exec(query.order_by(col(Task.id)))
    return result.all()


async def get_task(session: AsyncSession, user_id: str, task_id: int) -> Task | None:
    """The task with this id if it belongs to the user; None for anybody else's or no task."""
    if not 1 <= task_id <= MAX_TASK_ID:
        return None
    result = await session.exec(select(Task).where(Task.id == task_id, Task.user_id == user_id))
    return result.first()


async def create_task(
    session: AsyncSession, owner: Principal, data: TaskCreate, known_users: KnownUsers
) -> Task:
    """Store a new task for the user."""
    now = utcnow()
    values = data.model_dump() | {"user_id": owner.user_id, "created_at": now, "updated_at": now}
    try:
        return await _insert(session, Task(**values))
    except IntegrityError:
        # The user row vanished after we cached it (deleted by Better Auth, say): recreate it.
        await session.rollback()
        known_users.forget(owner.user_id)
        await ensure_user(session, owner, known_users)
        return await _insert(session, Task(**values))


async def _insert(session: AsyncSession, task: Task) -> Task:
    session.add(task)
    await session.commit()
    return task


async def update_task(session: AsyncSession, task: Task, data: TaskUpdate) -> Task:
    """Apply the fields the client sent (null means unchanged, as the guidelines define PUT)."""
    for name, value in data.model_dump(exclude_none=True).items():
        setattr(task, name, value)
    task.updated_at = utcnow()
    await session.commit()
    return task


async def toggle_task(session: AsyncSession, task: Task) -> Task:
    """Flip the task between pending and completed."""
    # Flipped in SQL, not in Python, so two toggles at once cancel out instead of colliding.
    statement = (
        update(Task)
        .where(col(Task.id) == task.id)
        .values(completed=~col(Task.completed), updated_at=utcnow())
        .returning(Task)
    )
    toggled = (await session.exec(statement)).scalar_one()
    await session.commit()
    return toggled


async def delete_task(session: AsyncSession, task: Task) -> None:
    """Remove the task for good."""
    await session.delete(task)
    await session.commit()
