"""Webhooks: a user's receivers, and the outbox of deliveries queued for them.

Deliveries are queued from the owner's change log (services/webhook_dispatch.py) and sent by
the delivery workers (services/deliveries.py), never on a request's path.
"""

import base64
import secrets
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete, func, insert, select

from todo_api.db import Database, Row
from todo_api.errors import UnsafeWebhookUrl, WebhookLimitReached, WebhookNotFound
from todo_api.models import Change, Webhook, WebhookAttempt, WebhookDelivery, table_of, utcnow
from todo_api.schemas.webhooks import EVENTS
from todo_api.services.users import USER
from todo_api.ssrf import UnsafeAddress, public_addresses

MAX_WEBHOOKS_PER_USER = 10
# Attempts shown by `GET …/deliveries`, newest first.
RECENT_ATTEMPTS = 100
SECRET_PREFIX = "whsec_"

CHANGE = table_of(Change)
WEBHOOK = table_of(Webhook)
DELIVERY = table_of(WebhookDelivery)
ATTEMPT = table_of(WebhookAttempt)


def event_mask(events: list[str]) -> int:
    """The `webhook.events` bits for these event names."""
    return sum(1 << EVENTS.index(event) for event in set(events))


def event_names(mask: int) -> list[str]:
    """The event names a `webhook.events` value subscribes to."""
    return [event for bit, event in enumerate(EVENTS) if mask & (1 << bit)]


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
        raise UnsafeWebhookUrl(
            f"{error} (set WEBHOOK_ALLOW_PRIVATE=true to allow private receivers)", url
        ) from None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


_OWNER = WEBHOOK.c.user_id == bindparam("owner")
_THIS_WEBHOOK = (WEBHOOK.c.id == bindparam("webhook_id")) & _OWNER
_SHOWN = [
    WEBHOOK.c.id,
    WEBHOOK.c.url,
    WEBHOOK.c.events,
    WEBHOOK.c.enabled,
    WEBHOOK.c.disabled_at,
    WEBHOOK.c.disabled_reason,
    WEBHOOK.c.created_at,
]
_LOCK_USER = select(USER.c.id).where(USER.c.id == bindparam("owner")).with_for_update()
_COUNT = select(func.count()).select_from(WEBHOOK).where(_OWNER)
_LIST = select(*_SHOWN).where(_OWNER).order_by(WEBHOOK.c.id)
_GET = select(*_SHOWN).where(_THIS_WEBHOOK)
_CREATE = (
    insert(WEBHOOK)
    .values(
        user_id=bindparam("owner"),
        url=bindparam("url"),
        events=bindparam("events"),
        secret=bindparam("secret"),
        enabled=True,
        created_at=bindparam("now", type_=WEBHOOK.c.created_at.type),
        # What happened before the webhook existed is not sent to it.
        log_position=func.coalesce(
            select(func.max(CHANGE.c.id))
            .where(CHANGE.c.user_id == bindparam("owner"))
            .scalar_subquery(),
            0,
        ),
    )
    .returning(*_SHOWN)
)
_DELETE = delete(WEBHOOK).where(_THIS_WEBHOOK)
_ATTEMPTS = (
    select(
        ATTEMPT.c.delivery_id,
        DELIVERY.c.message_id,
        DELIVERY.c.event,
        ATTEMPT.c.attempt,
        ATTEMPT.c.status_code,
        ATTEMPT.c.error,
        ATTEMPT.c.at,
    )
    .join(DELIVERY, DELIVERY.c.id == ATTEMPT.c.delivery_id)
    .where(ATTEMPT.c.webhook_id == bindparam("webhook_id"))
    .order_by(ATTEMPT.c.id.desc())
    .limit(RECENT_ATTEMPTS)
)


async def list_webhooks(db: Database, user_id: str) -> list[Row]:
    """The user's webhooks, oldest first, without their secrets."""
    return await db.fetch_all(_LIST, {"owner": user_id})


async def get_webhook(db: Database, user_id: str, webhook_id: int) -> Row:
    """The user's webhook with this id (no secret); WebhookNotFound for anybody else's."""
    row = await db.fetch_one(_GET, {"owner": user_id, "webhook_id": webhook_id})
    if row is None:
        raise WebhookNotFound(webhook_id)
    return row


async def create_webhook(
    db: Database,
    user_id: str,
    url: str,
    events: list[str],
    *,
    allow_private: bool,
    require_https: bool,
    max_webhooks: int = MAX_WEBHOOKS_PER_USER,
) -> tuple[Row, str]:
    """Store a webhook; the row and its secret (which is never read back again).

    UnsafeWebhookUrl if the URL may not receive webhooks, WebhookLimitReached at the limit.
    """
    await check_url(url, allow_private=allow_private, require_https=require_https)
    async with db.transaction() as tx:
        # The user's row, locked, serialises their creates: two at once cannot pass the limit.
        await tx.execute(_LOCK_USER, {"owner": user_id})
        if await tx.scalar(_COUNT, {"owner": user_id}) >= max_webhooks:
            raise WebhookLimitReached(max_webhooks)
        secret = new_secret()
        params = {"owner": user_id, "url": url, "events": event_mask(events), "secret": secret}
        row = await tx.fetch_one(_CREATE, params | {"now": utcnow()})
    assert row is not None  # INSERT … RETURNING always returns the row
    return row, secret


async def delete_webhook(db: Database, user_id: str, webhook_id: int) -> None:
    """Remove the webhook with its queued deliveries and their history."""
    if not await db.execute(_DELETE, {"owner": user_id, "webhook_id": webhook_id}):
        raise WebhookNotFound(webhook_id)


async def recent_attempts(db: Database, user_id: str, webhook_id: int) -> list[Row]:
    """The webhook's latest delivery attempts, newest first."""
    await get_webhook(db, user_id, webhook_id)
    return await db.fetch_all(_ATTEMPTS, {"webhook_id": webhook_id})
