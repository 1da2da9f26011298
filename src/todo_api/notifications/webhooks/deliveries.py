"""Webhook delivery: a worker in every process claims due deliveries from the outbox and sends
them, signed as the Standard Webhooks specification says.

A claim is one statement: it takes due rows that no other worker has locked (`FOR UPDATE SKIP
LOCKED` on PostgreSQL; SQLite has one writer at a time) and moves their `next_attempt_at` a
lease ahead. The request goes out after that commits, with no transaction or lock held while
a receiver answers; the outcome is recorded afterwards. A worker that dies mid-attempt only
lets its lease run out: another worker tries again, so a delivery is sent at least once.
"""

import asyncio
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import orjson
from sqlalchemy import bindparam, delete, select, update
from standardwebhooks.webhooks import Webhook as Signer

from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, Row
from todo_api.core.jobs import Job, claim_due, retry_at, this_attempt
from todo_api.notifications.webhooks.addresses import webhook_client
from todo_api.notifications.webhooks.repository import ATTEMPT, DELIVERY, WEBHOOK

logger = logging.getLogger(__name__)

# Deliveries sent at once by one worker.
BATCH_SIZE = 20
# Past the request timeout, so that a lease never runs out while its attempt is in flight.
LEASE_MARGIN = timedelta(seconds=30)
# Delivered and failed deliveries (with their attempts) are kept this long.
RETENTION = timedelta(days=7)
PURGE_EVERY = timedelta(minutes=10)
ERROR_MAX_LENGTH = 200

_CLAIM = claim_due(
    DELIVERY, DELIVERY.c.webhook_id, DELIVERY.c.event, DELIVERY.c.message_id, DELIVERY.c.payload
)
_NOW = bindparam("now", type_=DELIVERY.c.next_attempt_at.type)
_THIS_ATTEMPT = this_attempt(DELIVERY)
_RECORD = ATTEMPT.insert().values(
    webhook_id=bindparam("webhook_id"),
    delivery_id=bindparam("row_id"),
    attempt=bindparam("attempt"),
    status_code=bindparam("status_code"),
    error=bindparam("error"),
    at=_NOW,
)
_DELIVERED = update(DELIVERY).where(_THIS_ATTEMPT).values(status="delivered")
_RETRY = retry_at(DELIVERY)
_FAILED = update(DELIVERY).where(_THIS_ATTEMPT).values(status="failed")
_DISABLE = (
    update(WEBHOOK)
    .where(WEBHOOK.c.id == bindparam("hook_id"), WEBHOOK.c.enabled.is_(True))
    .values(
        enabled=False,
        disabled_at=bindparam("now", type_=WEBHOOK.c.disabled_at.type),
        disabled_reason=bindparam("reason"),
    )
)
_DROP_PENDING = (
    update(DELIVERY)
    .where(DELIVERY.c.webhook_id == bindparam("hook_id"), DELIVERY.c.status == "pending")
    .values(status="failed")
)
_PURGE = delete(DELIVERY).where(
    DELIVERY.c.status != "pending",
    DELIVERY.c.created_at < bindparam("cutoff", type_=DELIVERY.c.created_at.type),
)


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for `body`, signed now."""
    now = utcnow()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, now, body),
    }


class Deliverer(Job):
    """Sends the outbox's due deliveries."""

    name = "Webhook deliveries"

    def __init__(
        self, db: Database, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(settings.jobs_poll_seconds)
        self._db = db
        self._delays = list(settings.webhook_retry_delays)
        self._timeout = settings.webhook_timeout_seconds
        self._lease = timedelta(seconds=self._timeout) + LEASE_MARGIN
        self._client = client or webhook_client(
            timeout=self._timeout, allow_private=settings.webhook_allow_private
        )
        self._purged_at = utcnow() - PURGE_EVERY

    async def round(self) -> float:
        sent = await self.deliver_due()
        await self._purge()
        return 0 if sent else self.poll_seconds  # a full batch may have left more behind

    async def close(self) -> None:
        """Close the connections to receivers."""
        await self._client.aclose()

    async def deliver_due(self) -> int:
        """Claim and send the deliveries due now; how many were claimed."""
        now = utcnow()
        params = {"now": now, "lease_until": now + self._lease, "batch": BATCH_SIZE}
        claimed = await self._db.fetch_all(_CLAIM, params)
        if not claimed:
            return 0
        ids = sorted({row["webhook_id"] for row in claimed})
        webhooks = {
            row["id"]: row
            for row in await self._db.fetch_all(
                select(WEBHOOK.c.id, WEBHOOK.c.url, WEBHOOK.c.secret, WEBHOOK.c.enabled).where(
                    WEBHOOK.c.id.in_(ids)
                )
            )
        }
        await asyncio.gather(
            *(self._attempt(row, webhooks.get(row["webhook_id"])) for row in claimed)
        )
        return len(claimed)

    async def _attempt(self, delivery: Row, webhook: Row | None) -> None:
        if webhook is None:
            return  # deleted meanwhile: its deliveries went with it
        if not webhook["enabled"]:
            await self._db.execute(_FAILED, _identity(delivery))
            return
        status_code, error = await self._send(delivery, webhook)
        if error is not None:
            logger.info(
                "Webhook %s (%s) delivery %s attempt %s failed: %s",
                webhook["id"],
                urlsplit(webhook["url"]).hostname,
                delivery["message_id"],
                delivery["attempts"],
                error,
            )
        await self._record(delivery, status_code, error)

    async def _send(self, delivery: Row, webhook: Row) -> tuple[int | None, str | None]:
        body = orjson.dumps(delivery["payload"]).decode()
        headers = signed_headers(webhook["secret"], delivery["message_id"], body)
        headers |= {"content-type": "application/json", "user-agent": "todo-api-webhooks"}
        try:
            # Streamed and closed unread: a receiver's answer is its status code alone.
            async with self._client.stream(
                "POST", webhook["url"], content=body, headers=headers
            ) as response:
                status_code = response.status_code
        except httpx.TimeoutException:
            return None, f"no answer within {self._timeout:g} s"
        except httpx.HTTPError as error:
            return None, (str(error) or type(error).__name__)[:ERROR_MAX_LENGTH]
        if 200 <= status_code < 300:
            return status_code, None
        if 300 <= status_code < 400:
            return status_code, f"HTTP {status_code} (redirects are not followed)"
        return status_code, f"HTTP {status_code}"

    async def _record(self, delivery: Row, status_code: int | None, error: str | None) -> None:
        now = utcnow()
        attempt = delivery["attempts"]
        params: dict[str, Any] = _identity(delivery) | {
            "webhook_id": delivery["webhook_id"],
            "hook_id": delivery["webhook_id"],
            "status_code": status_code,
            "error": error,
            "now": now,
        }
        async with self._db.transaction() as tx:
            await tx.execute(_RECORD, params)
            if error is None:
                await tx.execute(_DELIVERED, params)
            elif attempt <= len(self._delays):
                retry_at = now + timedelta(seconds=self._delays[attempt - 1])
                await tx.execute(_RETRY, params | {"retry_at": retry_at})
            elif await tx.execute(_FAILED, params):
                reason = f"Disabled: all {attempt} attempts to deliver {delivery['message_id']}"
                reason = f"{reason} failed (last: {error})"[:ERROR_MAX_LENGTH]
                await tx.execute(_DISABLE, params | {"reason": reason})
                await tx.execute(_DROP_PENDING, params)
                logger.warning("Webhook %s disabled: %s", delivery["webhook_id"], reason)

    async def _purge(self) -> None:
        now = utcnow()
        if now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            await self._db.execute(_PURGE, {"cutoff": now - RETENTION})


def _identity(delivery: Row) -> dict[str, Any]:
    return {"row_id": delivery["id"], "attempt": delivery["attempts"]}
