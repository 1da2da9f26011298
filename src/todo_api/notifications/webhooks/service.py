"""Webhooks: a user's receivers, the rules on where they may be, and their secrets.

Deliveries are queued from the owner's change log (`dispatch.py`) and sent by the delivery
workers (`deliveries.py`), never on a request's path.
"""

import base64
import secrets
from urllib.parse import urlsplit

from todo_api.core.clock import utcnow
from todo_api.core.database import Database
from todo_api.notifications.webhooks import repository, verification
from todo_api.notifications.webhooks.addresses import UnsafeAddress, public_addresses
from todo_api.notifications.webhooks.errors import (
    UnsafeWebhookUrl,
    WebhookLimitReached,
    WebhookNotFound,
)
from todo_api.notifications.webhooks.events import WebhookEvent, event_mask
from todo_api.notifications.webhooks.repository import AttemptRow, WebhookRow
from todo_api.notifications.webhooks.secret_box import SecretBox
from todo_api.notifications.webhooks.sender import WebhookSender

MAX_WEBHOOKS_PER_USER = 10
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


async def check_url(url: str, *, allow_private: bool, require_https: bool) -> None:
    """UnsafeWebhookUrl unless `url` may receive webhooks."""
    parts = urlsplit(url)
    if require_https and parts.scheme != "https":
        raise UnsafeWebhookUrl("webhook URLs must use https in production", url)
    if allow_private:
        return
    try:
        await public_addresses(parts.hostname or "", parts.port or _default_port(parts.scheme))
    except UnsafeAddress as error:
        hint = " (set WEBHOOK_ALLOW_PRIVATE=true to allow private receivers)" * error.private
        raise UnsafeWebhookUrl(f"{error}{hint}", url) from None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def get_webhook(db: Database, user_id: str, webhook_id: int) -> WebhookRow:
    """The user's webhook with this id (no secret); WebhookNotFound for anybody else's."""
    row = await repository.get(db, user_id, webhook_id)
    if row is None:
        raise WebhookNotFound(webhook_id)
    return row


async def create_webhook(
    db: Database,
    sender: WebhookSender,
    box: SecretBox,
    user_id: str,
    url: str,
    events: list[WebhookEvent],
    *,
    allow_private: bool,
    require_https: bool,
    max_webhooks: int = MAX_WEBHOOKS_PER_USER,
) -> tuple[WebhookRow, str]:
    """Store a webhook and challenge its receiver (`verification.py`); the row, verified or
    not, and its secret (which is never shown again).

    UnsafeWebhookUrl if the URL may not receive webhooks, WebhookLimitReached at the limit.
    """
    await check_url(url, allow_private=allow_private, require_https=require_https)
    secret = new_secret()
    async with db.transaction() as tx:
        if await repository.count_locked(tx, user_id) >= max_webhooks:
            raise WebhookLimitReached(max_webhooks)
        row = await repository.insert_one(
            tx, user_id, url, event_mask(events), box.seal(secret), utcnow()
        )
    return await verification.verify(db, sender, box, user_id, row["id"]), secret


async def delete_webhook(db: Database, user_id: str, webhook_id: int) -> None:
    """Remove the webhook with its queued deliveries and their history."""
    if not await repository.delete_one(db, user_id, webhook_id):
        raise WebhookNotFound(webhook_id)


async def recent_attempts(db: Database, user_id: str, webhook_id: int) -> list[AttemptRow]:
    """The webhook's latest delivery attempts, newest first."""
    await get_webhook(db, user_id, webhook_id)
    return await repository.recent_attempts(db, webhook_id)
