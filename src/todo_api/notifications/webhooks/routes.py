"""`/api/{user_id}/webhooks`: where the user's changes and reminders are sent."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from todo_api.accounts import Owner
from todo_api.core.fields import MAX_ID
from todo_api.core.http.responses import OWNER_ERRORS, Responses, error
from todo_api.core.state import provide
from todo_api.notifications.webhooks import repository, verification
from todo_api.notifications.webhooks import service as webhook_service
from todo_api.notifications.webhooks.events import event_names
from todo_api.notifications.webhooks.repository import WebhookRow
from todo_api.notifications.webhooks.schemas import (
    DeliveryAttempt,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from todo_api.notifications.webhooks.secret_box import SecretBox
from todo_api.notifications.webhooks.sender import WebhookSender

router = APIRouter(prefix="/api/{user_id}/webhooks", tags=["webhooks"], responses=OWNER_ERRORS)

WebhookId = Annotated[int, Path(ge=1, le=MAX_ID)]
SenderDep = Annotated[WebhookSender, Depends(provide(WebhookSender))]
SecretBoxDep = Annotated[SecretBox, Depends(provide(SecretBox))]
NOT_FOUND: Responses = {404: error("No such webhook", "Webhook not found")}


def _read(row: WebhookRow) -> WebhookRead:
    shown = {"events": event_names(row["events"]), "verified": row["verified_at"] is not None}
    return WebhookRead.model_validate({**row, **shown})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: error("The user has the most webhooks allowed", "Webhook limit reached"),
        422: {"description": "Invalid body, or a URL webhooks may not be sent to"},
    },
)
async def create_webhook(
    owner: Owner, data: WebhookCreate, sender: SenderDep, box: SecretBoxDep
) -> WebhookCreated:
    """Send the chosen events to `url`, once its receiver proves it wants them: before this
    answers, it gets a signed `webhook.verify` event with `data.challenge`, and must answer
    2xx with `{"challenge": <the same>}` within WEBHOOK_TIMEOUT_SECONDS. `verified` says
    whether it did (else `verification_error` why; `POST …/{id}/verify` tries again).

    The answer holds the signing secret: keep it, it is shown this once."""
    settings = owner.settings
    row, secret = await webhook_service.create_webhook(
        owner.db,
        sender,
        box,
        owner.user_id,
        data.url,
        list(data.events),
        allow_private=settings.webhook_allow_private,
        require_https=settings.environment == "production",
    )
    return WebhookCreated(**_read(row).model_dump(), secret=secret)


@router.get("")
async def list_webhooks(owner: Owner) -> list[WebhookRead]:
    """The caller's webhooks (without secrets)."""
    return [_read(row) for row in await repository.list_for(owner.db, owner.user_id)]


@router.get("/{webhook_id}", responses=NOT_FOUND)
async def get_webhook(owner: Owner, webhook_id: WebhookId) -> WebhookRead:
    """One webhook (without its secret)."""
    return _read(await webhook_service.get_webhook(owner.db, owner.user_id, webhook_id))


@router.post("/{webhook_id}/verify", responses=NOT_FOUND)
async def verify_webhook(
    owner: Owner, webhook_id: WebhookId, sender: SenderDep, box: SecretBoxDep
) -> WebhookRead:
    """Challenge the receiver again, as on creation: verified, it is sent the changes from now
    on; not verified, nothing (`verification_error` says why)."""
    row = await verification.verify(owner.db, sender, box, owner.user_id, webhook_id)
    return _read(row)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def delete_webhook(owner: Owner, webhook_id: WebhookId) -> None:
    """Stop sending to this webhook; what was still queued for it is dropped."""
    await webhook_service.delete_webhook(owner.db, owner.user_id, webhook_id)


@router.get("/{webhook_id}/deliveries", responses=NOT_FOUND)
async def list_deliveries(owner: Owner, webhook_id: WebhookId) -> list[DeliveryAttempt]:
    """The webhook's latest delivery attempts, newest first: what the receiver answered."""
    rows = await webhook_service.recent_attempts(owner.db, owner.user_id, webhook_id)
    return [DeliveryAttempt.model_validate(row) for row in rows]
