"""Webhook delivery: a worker in every process claims due deliveries from the outbox, fairly,
and sends each one signed (`sender.py`).

Fair: a claim locks the webhooks that have a delivery due (`FOR UPDATE SKIP LOCKED`: one
process claims for a webhook at a time), least recently served first, leaving out those that
have `IN_FLIGHT_PER_WEBHOOK` attempts in flight or reached their ceiling (WEBHOOK_MAX_PER_MINUTE
attempts in the last minute, those in flight included: beyond it deliveries wait, none is
dropped), and takes the oldest due delivery of each. Each attempt then runs on its own: nothing
waits for the slowest, and a worker keeps at most `MAX_IN_FLIGHT` going, claiming again as one
ends. So a user whose receivers are slow or dead holds a few slots per webhook, and everybody
else's deliveries are still claimed at once.

A claim moves the row's `next_attempt_at` a lease ahead and marks it in flight
(`leased_until`); the request goes out after the claim commits, with no transaction or lock
held while a receiver answers, and the outcome is recorded afterwards. A worker that dies
mid-attempt only lets its lease run out: another worker tries again, so a delivery is sent at
least once.
"""

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, bindparam, delete, func, literal, select, update

from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, Rows
from todo_api.core.jobs import Job, retry_at, this_attempt
from todo_api.notifications.webhooks.repository import ATTEMPT, DELIVERY, DROP_QUEUED, WEBHOOK
from todo_api.notifications.webhooks.secret_box import SecretBox
from todo_api.notifications.webhooks.sender import Outcome, WebhookSender

logger = logging.getLogger(__name__)

# Attempts in flight for one webhook at once, across every worker.
IN_FLIGHT_PER_WEBHOOK = 2
# Attempts one worker keeps going at once.
MAX_IN_FLIGHT = 50
# Webhooks served by one claim.
WEBHOOKS_PER_CLAIM = 20
# What WEBHOOK_MAX_PER_MINUTE counts over.
CEILING_WINDOW = timedelta(minutes=1)
# Past the request timeout, so that a lease never runs out while its attempt is in flight.
LEASE_MARGIN = timedelta(seconds=30)
# Delivered and failed deliveries (with their attempts) are kept this long.
RETENTION = timedelta(days=7)
PURGE_EVERY = timedelta(minutes=10)
ERROR_MAX_LENGTH = 200


class Claimed(TypedDict):
    """A delivery a worker claimed, and what to send where."""

    id: int
    attempts: int
    webhook_id: int
    event: str
    message_id: str
    payload: dict[str, Any]


class _Receiver(TypedDict):
    id: int
    url: str
    secret: str
    enabled: bool


_NOW = bindparam("now", type_=DELIVERY.c.next_attempt_at.type)


def _due(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    return (DELIVERY.c.status == "pending") & (DELIVERY.c.next_attempt_at <= now)


_DUE = _due(_NOW)
_IN_FLIGHT = (
    select(func.count())
    .where(DELIVERY.c.webhook_id == WEBHOOK.c.id, DELIVERY.c.leased_until > _NOW)
    .scalar_subquery()
)
_RECENT = (
    select(func.count())
    .where(
        ATTEMPT.c.webhook_id == WEBHOOK.c.id,
        ATTEMPT.c.at > bindparam("window_start", type_=ATTEMPT.c.at.type),
    )
    .scalar_subquery()
)
# The webhooks to serve now, least recently served first, locked for this claim.
_SERVABLE = Rows[dict[str, int]](
    select(WEBHOOK.c.id)
    .where(
        WEBHOOK.c.enabled.is_(True),
        WEBHOOK.c.verified_at.is_not(None),
        select(DELIVERY.c.id).where(DELIVERY.c.webhook_id == WEBHOOK.c.id, _DUE).exists(),
        _IN_FLIGHT < IN_FLIGHT_PER_WEBHOOK,
        bindparam("ceiling") > _IN_FLIGHT + _RECENT,
    )
    .order_by(WEBHOOK.c.served_at.asc().nulls_first(), WEBHOOK.c.id)
    .limit(bindparam("webhooks"))
    .with_for_update(skip_locked=True, of=WEBHOOK)
)
_THIS_ATTEMPT = this_attempt(DELIVERY)
_RECORD = ATTEMPT.insert().values(
    webhook_id=bindparam("webhook_id"),
    delivery_id=bindparam("row_id"),
    attempt=bindparam("attempt"),
    status_code=bindparam("status_code"),
    error=bindparam("error"),
    at=_NOW,
)
_DELIVERED = update(DELIVERY).where(_THIS_ATTEMPT).values(status="delivered", leased_until=None)
_RETRY = retry_at(DELIVERY).values(leased_until=None)
_FAILED = update(DELIVERY).where(_THIS_ATTEMPT).values(status="failed", leased_until=None)
_DISABLE = (
    update(WEBHOOK)
    .where(WEBHOOK.c.id == bindparam("hook_id"), WEBHOOK.c.enabled.is_(True))
    .values(
        enabled=False,
        disabled_at=bindparam("now", type_=WEBHOOK.c.disabled_at.type),
        disabled_reason=bindparam("reason"),
    )
)
_PURGE = delete(DELIVERY).where(
    DELIVERY.c.status != "pending",
    DELIVERY.c.created_at < bindparam("cutoff", type_=DELIVERY.c.created_at.type),
)


def _claim(webhook_ids: list[int], now: datetime, lease_until: datetime) -> Rows[Claimed]:
    """The oldest due delivery of each of these (locked) webhooks, claimed until
    `lease_until` (built per claim: its values are in it, the IN list's too)."""
    moment = literal(now, DELIVERY.c.next_attempt_at.type)
    until = literal(lease_until, DELIVERY.c.next_attempt_at.type)
    oldest_due = (
        select(DELIVERY.c.id)
        .where(DELIVERY.c.webhook_id == WEBHOOK.c.id, _due(moment))
        .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id)
        .limit(1)
        .scalar_subquery()
    )
    oldest = select(oldest_due).where(WEBHOOK.c.id.in_(webhook_ids))
    return Rows(
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(oldest), _due(moment))
        .values(attempts=DELIVERY.c.attempts + 1, next_attempt_at=until, leased_until=until)
        .returning(
            DELIVERY.c.id,
            DELIVERY.c.attempts,
            DELIVERY.c.webhook_id,
            DELIVERY.c.event,
            DELIVERY.c.message_id,
            DELIVERY.c.payload,
        )
    )


class Deliverer(Job):
    """Sends the outbox's due deliveries, each attempt on its own."""

    name = "Webhook deliveries"

    def __init__(
        self, db: Database, settings: Settings, sender: WebhookSender, secrets: SecretBox
    ) -> None:
        super().__init__(settings.jobs_poll_seconds)
        self._db = db
        self._sender = sender
        self._delays = list(settings.webhook_retry_delays)
        self._ceiling = settings.webhook_max_per_minute
        self._lease = timedelta(seconds=sender.timeout) + LEASE_MARGIN
        self._secrets = secrets
        self._in_flight: set[asyncio.Task[None]] = set()
        self._purged_at = utcnow() - PURGE_EVERY

    async def round(self) -> float:
        await self._purge()
        room = MAX_IN_FLIGHT - len(self._in_flight)
        started = len(await self._start_due(room)) if room > 0 else 0
        # Room left: claim again at once (a webhook may take a second attempt); else wait to be
        # woken by an attempt that ends, or by new deliveries.
        return 0 if 0 < started < room else self.poll_seconds

    async def deliver_due(self) -> int:
        """Claim what is due now and send it, waiting for those attempts; how many it sent."""
        attempts = await self._start_due(MAX_IN_FLIGHT - len(self._in_flight))
        await asyncio.gather(*attempts)
        return len(attempts)

    async def close(self) -> None:
        """Stop the attempts in flight (their leases run out: another worker sends them)."""
        for attempt in list(self._in_flight):
            attempt.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _start_due(self, room: int) -> list[asyncio.Task[None]]:
        """Claim up to `room` due deliveries and start sending each; the attempts started."""
        claimed: list[Claimed] = []
        now = utcnow()
        params = {
            "now": now,
            "window_start": now - CEILING_WINDOW,
            "ceiling": self._ceiling,
            "webhooks": min(room, WEBHOOKS_PER_CLAIM),
        }
        async with self._db.transaction() as tx:
            servable = [row["id"] for row in await tx.fetch_all(_SERVABLE, params)]
            if servable:
                claimed = await tx.fetch_all(_claim(servable, now, now + self._lease))
                served_at = literal(now, WEBHOOK.c.served_at.type)
                served = update(WEBHOOK).where(WEBHOOK.c.id.in_(servable))
                await tx.execute(served.values(served_at=served_at))
        if not claimed:
            return []
        ids = sorted({row["webhook_id"] for row in claimed})
        receivers = Rows[_Receiver](
            select(WEBHOOK.c.id, WEBHOOK.c.url, WEBHOOK.c.secret, WEBHOOK.c.enabled).where(
                WEBHOOK.c.id.in_(ids)
            )
        )
        by_id = {row["id"]: row for row in await self._db.fetch_all(receivers)}
        attempts = [
            asyncio.create_task(self._attempt(row, by_id.get(row["webhook_id"]))) for row in claimed
        ]
        for attempt in attempts:
            self._in_flight.add(attempt)
            attempt.add_done_callback(self._ended)
        return attempts

    def _ended(self, attempt: asyncio.Task[None]) -> None:
        self._in_flight.discard(attempt)
        self.wake()  # room for another attempt

    async def _attempt(self, delivery: Claimed, webhook: _Receiver | None) -> None:
        if webhook is None:
            return  # deleted meanwhile: its deliveries went with it
        try:
            if not webhook["enabled"]:
                await self._db.execute(_FAILED, _identity(delivery))
                return
            outcome = await self._send(delivery, webhook)
        except Exception:
            # Whatever it was, this attempt failed: it counts, and the delivery moves on.
            logger.exception("Webhook %s delivery attempt failed", webhook["id"])
            outcome = Outcome(error="the attempt failed")
        error = outcome.failure()
        if error is not None:
            logger.info(
                "Webhook %s delivery %s attempt %s failed: %s",
                webhook["id"],
                delivery["message_id"],
                delivery["attempts"],
                error,
            )
        await self._record(delivery, outcome.status_code, error)

    async def _send(self, delivery: Claimed, webhook: _Receiver) -> Outcome:
        secret = self._secrets.open(webhook["secret"])
        return await self._sender.send(
            webhook["url"], secret, delivery["message_id"], delivery["payload"]
        )

    async def _record(self, delivery: Claimed, status_code: int | None, error: str | None) -> None:
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
                retry = now + timedelta(seconds=self._delays[attempt - 1])
                await tx.execute(_RETRY, params | {"retry_at": retry})
            elif await tx.execute(_FAILED, params):
                reason = f"Disabled: all {attempt} attempts to deliver {delivery['message_id']}"
                reason = f"{reason} failed (last: {error})"[:ERROR_MAX_LENGTH]
                await tx.execute(_DISABLE, params | {"reason": reason})
                await tx.execute(DROP_QUEUED, params)
                logger.warning("Webhook %s disabled: %s", delivery["webhook_id"], reason)

    async def _purge(self) -> None:
        now = utcnow()
        if now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            await self._db.execute(_PURGE, {"cutoff": now - RETENTION})


def _identity(delivery: Claimed) -> dict[str, Any]:
    return {"row_id": delivery["id"], "attempt": delivery["attempts"]}
