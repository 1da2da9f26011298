"""Writes to many of a user's tasks at once: completing some (or all pending), deleting the
completed ones. Each task changed is a logged change, as if written one by one."""

from todo_api.core.clock import utcnow
from todo_api.core.database import Store
from todo_api.tasks import logged, repository, service, tree
from todo_api.tasks.schemas import BulkComplete


async def complete_tasks(
    store: Store, user_id: str, selection: BulkComplete, *, max_tasks: int = 0
) -> list[int]:
    """Complete the selected pending tasks (or the oldest MAX_BULK_TASKS pending ones) in one
    transaction; the ids completed. Recurring ones get their next occurrence and tasks with
    subtasks complete them, as when completed one by one: TaskLimitReached, and nothing
    completed, if the occurrences would pass `max_tasks`."""
    async with store.write() as uow:
        tasks = await repository.lock_pending(uow.db, user_id, selection.ids)
        plain = []
        for task in tasks:
            if service.needs_bookkeeping(task, {"completed": True}):
                current = await repository.get(uow.db, user_id, task["id"])
                if current is not None and not current["completed"]:  # not done by an ancestor
                    await service.complete_locked(uow, current, max_tasks)
            else:
                plain.append(task["id"])
        if plain:
            completed = await repository.complete_all(uow.db, user_id, plain, utcnow())
            uow.record(*(logged.updated(row) for row in completed))
    return [task["id"] for task in tasks]


async def delete_completed(store: Store, user_id: str) -> list[int]:
    """Delete every completed task of the user, and the subtasks under them (pending or not);
    the ids deleted."""
    async with store.write() as uow:
        parents = await repository.parents_of_completed(uow.db, user_id)
        for parent_id in parents:  # their counts change: held first, in id order
            await tree.lock(uow.db, user_id, parent_id)
        doomed = await repository.delete_completed(uow.db, user_id)
        now = utcnow()
        uow.record(*(logged.deleted(user_id, i, now, list_id) for i, list_id in doomed))
        ids = [task_id for task_id, _ in doomed]
        await tree.refresh_counts(uow, user_id, set(parents) - set(ids))
    return ids
