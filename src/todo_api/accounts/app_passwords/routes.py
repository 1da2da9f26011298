"""`/api/{user_id}/app-passwords`: make, list and revoke app passwords. Bearer tokens only: an
app password never manages app passwords."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from todo_api.accounts.app_passwords import service
from todo_api.accounts.app_passwords.schemas import (
    AppPasswordCreate,
    AppPasswordCreated,
    AppPasswordRead,
)
from todo_api.accounts.dependencies import Owner
from todo_api.core.fields import MAX_ID
from todo_api.core.http.responses import OWNER_ERRORS, Responses, error

router = APIRouter(prefix="/api/{user_id}", tags=["app passwords"], responses=OWNER_ERRORS)

NOT_FOUND: Responses = {
    404: error("No such app password of the caller's", "App password not found")
}
PasswordId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/app-passwords",
    status_code=status.HTTP_201_CREATED,
    responses={409: error("The user holds the most app passwords allowed", "Limit reached")},
)
async def create_app_password(data: AppPasswordCreate, owner: Owner) -> AppPasswordCreated:
    """A new app password for a client that speaks HTTP Basic (the username is the user's id
    or email), or a calendar feed's token (`["feed"]`): `password` is shown only in this
    answer."""
    limit = owner.settings.max_app_passwords_per_user
    row, secret = await service.create(owner.db, owner.user_id, data, max_per_user=limit)
    return AppPasswordCreated.model_validate(row | {"password": secret})


@router.get("/app-passwords")
async def list_app_passwords(owner: Owner) -> list[AppPasswordRead]:
    """The caller's app passwords, oldest first (never their secrets)."""
    return [
        AppPasswordRead.model_validate(row)
        for row in await service.of_user(owner.db, owner.user_id)
    ]


@router.delete(
    "/app-passwords/{password_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def revoke_app_password(password_id: PasswordId, owner: Owner) -> None:
    """Revoke an app password: the next request with it is refused."""
    await service.revoke(owner.db, owner.user_id, password_id)
