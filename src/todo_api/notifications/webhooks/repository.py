"""The webhook tables' SQL: a user's webhooks, and the attempts to deliver to them."""

from datetime import datetime
from typing import TypedDict

from sqlalchemy import bindparam, delete, func, insert, select, update

from todo_api import sync
from todo_api.accounts import USER
from todo_api.core.database import Database, Rows, table_of
from todo_api.notifications.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

# Attempts shown by `GET …/deliveries`, newest first.
RECENT_ATTEMPTS = 100

WEBHOOK = table_of(Webhook)
DELIVERY = table_of(WebhookDelivery)
ATTEMPT = table_of(WebhookAttempt)


class WebhookRow(TypedDict):
    """A webhook as listed (never with its secret)."""

    id: int
    url: str
    events: int
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    verified_at: datetime | None
    verification_error: str | None
    created_at: datetime


class Receiver(TypedDict):
    """Where a webhook sends, and its secret as stored (sealed)."""

    id: int
    user_id: str
    url: str
    secret: str


class AttemptRow(TypedDict):
    """One attempt to deliver an event, with the delivery it was for."""

    delivery_id: int
    message_id: str
    event: str
    attempt: int
    status_code: int | None
    error: str | None
    at: datetime


_OWNER = WEBHOOK.c.user_id == bindparam("owner")
_THIS_WEBHOOK = (WEBHOOK.c.id == bindparam("webhook_id")) & _OWNER
_SHOWN = [
    WEBHOOK.c.id,
    WEBHOOK.c.url,
    WEBHOOK.c.events,
    WEBHOOK.c.enabled,
    WEBHOOK.c.disabled_at,
    WEBHOOK.c.disabled_reason,
    WEBHOOK.c.verified_at,
    WEBHOOK.c.verification_error,
    WEBHOOK.c.created_at,
]
_LOCK_USER = select(USER.c.id).where(USER.c.id == bindparam("owner")).with_for_update()
_COUNT = select(func.count()).select_from(WEBHOOK).where(_OWNER)
_LIST = Rows[WebhookRow](select(*_SHOWN).where(_OWNER).order_by(WEBHOOK.c.id))
_GET = Rows[WebhookRow](select(*_SHOWN).where(_THIS_WEBHOOK))
_CREATE = Rows[WebhookRow](
    insert(WEBHOOK)
    .values(
        user_id=bindparam("owner"),
        url=bindparam("url"),
        events=bindparam("events"),
        secret=bindparam("secret"),
        enabled=True,
        created_at=bindparam("now", type_=WEBHOOK.c.created_at.type),
        log_position=0,  # until verified: then its owner's newest change
    )
    .returning(*_SHOWN)
)
_RECEIVER = Rows[Receiver](
    select(WEBHOOK.c.id, WEBHOOK.c.user_id, WEBHOOK.c.url, WEBHOOK.c.secret).where(_THIS_WEBHOOK)
)
_NOW = bindparam("now", type_=WEBHOOK.c.verified_at.type)
# Verified now: sent what the owner's log gets from now on, nothing from before.
_VERIFIED = Rows[WebhookRow](
    update(WEBHOOK)
    .where(_THIS_WEBHOOK)
    .values(
        verified_at=_NOW,
        verification_error=None,
        log_position=sync.newest_position(bindparam("owner")),
    )
    .returning(*_SHOWN)
)
_UNVERIFIED = Rows[WebhookRow](
    update(WEBHOOK)
    .where(_THIS_WEBHOOK)
    .values(verified_at=None, verification_error=bindparam("reason"))
    .returning(*_SHOWN)
)
# What is still queued for a webhook, given up on (`:hook_id`).
DROP_QUEUED = (
    update(DELIVERY)
    .where(DELIVERY.c.webhook_id == bindparam("hook_id"), DELIVERY.c.status == "pending")
    .values(status="failed", leased_until=None)
)
_DELETE = delete(WEBHOOK).where(_THIS_WEBHOOK)
_ATTEMPTS = Rows[AttemptRow](
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


async def list_for(db: Database, user_id: str) -> list[WebhookRow]:
    """The user's webhooks, oldest first."""
    return await db.fetch_all(_LIST, {"owner": user_id})


async def get(db: Database, user_id: str, webhook_id: int) -> WebhookRow | None:
    """The user's webhook with this id, or None."""
    return await db.fetch_one(_GET, {"owner": user_id, "webhook_id": webhook_id})


async def count_locked(tx: Database, user_id: str) -> int:
    """How many webhooks the user has, their user row locked until `tx` ends (so that their
    creates are serialised)."""
    await tx.execute(_LOCK_USER, {"owner": user_id})
    count: int = await tx.scalar(_COUNT, {"owner": user_id})
    return count


async def insert_one(
    db: Database, user_id: str, url: str, events: int, secret: str, now: datetime
) -> WebhookRow:
    """Store a webhook that starts at the owner's newest change."""
    params = {"owner": user_id, "url": url, "events": events, "secret": secret, "now": now}
    row = await db.fetch_one(_CREATE, params)
    assert row is not None  # INSERT … RETURNING always returns the row
    return row


async def receiver(db: Database, user_id: str, webhook_id: int) -> Receiver | None:
    """Where the user's webhook sends, with its sealed secret; None if there is no such."""
    return await db.fetch_one(_RECEIVER, {"owner": user_id, "webhook_id": webhook_id})


async def mark_verified(
    db: Database, user_id: str, webhook_id: int, now: datetime
) -> WebhookRow | None:
    """The webhook verified at `now`: from its owner's newest change on, it is sent them."""
    params = {"owner": user_id, "webhook_id": webhook_id, "now": now}
    return await db.fetch_one(_VERIFIED, params)


async def mark_unverified(
    db: Database, user_id: str, webhook_id: int, reason: str
) -> WebhookRow | None:
    """The webhook unverified, for `reason`: it is sent nothing, not even what was queued."""
    params = {"owner": user_id, "webhook_id": webhook_id, "reason": reason}
    async with db.transaction() as tx:
        row = await tx.fetch_one(_UNVERIFIED, params)
        if row is not None:
            await tx.execute(DROP_QUEUED, {"hook_id": webhook_id})
    return row


async def delete_one(db: Database, user_id: str, webhook_id: int) -> bool:
    """Delete the user's webhook (its deliveries and attempts go with it); whether it was."""
    return bool(await db.execute(_DELETE, {"owner": user_id, "webhook_id": webhook_id}))


async def recent_attempts(db: Database, webhook_id: int) -> list[AttemptRow]:
    """The webhook's latest delivery attempts, newest first."""
    return await db.fetch_all(_ATTEMPTS, {"webhook_id": webhook_id})
