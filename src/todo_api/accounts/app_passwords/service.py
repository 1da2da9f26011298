"""Making, listing and revoking a user's app passwords."""

from todo_api.accounts.app_passwords import repository
from todo_api.accounts.app_passwords.errors import AppPasswordLimitReached, AppPasswordNotFound
from todo_api.accounts.app_passwords.models import AppPasswordRow
from todo_api.accounts.app_passwords.schemas import AppPasswordCreate
from todo_api.accounts.app_passwords.scopes import stored
from todo_api.accounts.app_passwords.secret import digest, new_secret
from todo_api.core.clock import utcnow
from todo_api.core.database import Database


async def create(
    db: Database, user_id: str, data: AppPasswordCreate, *, max_per_user: int
) -> tuple[AppPasswordRow, str]:
    """A new app password for the user, and its secret (only its digest is kept)."""
    if max_per_user and await repository.count(db, user_id) >= max_per_user:
        raise AppPasswordLimitReached(max_per_user)
    secret = new_secret()
    row = await repository.create(
        db, user_id, data.name, stored(frozenset(data.scopes)), digest(secret), utcnow()
    )
    return row, secret


async def of_user(db: Database, user_id: str) -> list[AppPasswordRow]:
    """The user's app passwords."""
    return await repository.of_user(db, user_id)


async def revoke(db: Database, user_id: str, password_id: int) -> None:
    """Delete the user's app password: the next request with it is refused."""
    if not await repository.revoke(db, user_id, password_id):
        raise AppPasswordNotFound()
