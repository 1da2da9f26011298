"""Queueing webhook deliveries from the change log: each webhook follows its owner's feed.

A verified webhook stores the log position it has been given everything up to
(`log_position`, its owner's newest change when it was verified). A dispatch round locks the
verified webhooks that are behind (`FOR UPDATE SKIP LOCKED`: one process per
webhook at a time, the others take other webhooks), writes one delivery per change it
subscribes to, and moves the position, all in one transaction. So each change is queued for
each webhook exactly once; the deliverer then sends it at least once.

Following the log needs no work on the write's path: a round follows it only up to the log's
horizon (`todo_api.sync`), below which every change is final, so `id > log_position` never
skips a change that commits late.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict

import orjson
from sqlalchemy import bindparam, insert, select, update

from todo_api import sync
from todo_api.core.clock import utcnow
from todo_api.core.config import Settings
from todo_api.core.database import Database, Rows
from todo_api.core.jobs import Job
from todo_api.notifications.webhooks.events import subscribes
from todo_api.notifications.webhooks.repository import DELIVERY, WEBHOOK

WEBHOOKS_PER_ROUND = 50
CHANGES_PER_WEBHOOK = 500


class _Behind(TypedDict):
    id: int
    user_id: str
    events: int
    log_position: int


_IS_BEHIND = (
    WEBHOOK.c.enabled.is_(True),
    WEBHOOK.c.verified_at.is_not(None),
    sync.has_changes(WEBHOOK.c.user_id, WEBHOOK.c.log_position, bindparam("horizon")),
)
_ANY_BEHIND = select(select(WEBHOOK.c.id).where(*_IS_BEHIND).exists())
_BEHIND = Rows[_Behind](
    select(WEBHOOK.c.id, WEBHOOK.c.user_id, WEBHOOK.c.events, WEBHOOK.c.log_position)
    .where(*_IS_BEHIND)
    .order_by(WEBHOOK.c.id)
    .limit(WEBHOOKS_PER_ROUND)
    .with_for_update(skip_locked=True, of=WEBHOOK)
)
_ADVANCE = (
    update(WEBHOOK)
    .where(WEBHOOK.c.id == bindparam("hook_id"))
    .values(log_position=bindparam("position"))
)


def _deliveries(
    webhook: _Behind, changes: list[sync.LoggedChange], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "webhook_id": webhook["id"],
            "event": change.type,
            "message_id": f"msg_{change.cursor.encode()}_{webhook['id']}",
            "payload": orjson.loads(change.json()),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for change in changes
        if subscribes(webhook["events"], change.type)
    ]


class Dispatcher(Job):
    """Queues deliveries for the webhooks behind their owner's log."""

    name = "Webhook dispatch"
    # Woken by every write (most concern no webhook): a longer window makes a busy moment's
    # writes cost one round.
    wake_window_seconds = 0.1

    def __init__(
        self,
        db: Database,
        settings: Settings,
        horizon: sync.ChangeHorizon,
        queued: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(settings.jobs_poll_seconds)
        self._db = db
        self._horizon = horizon
        self._queued = queued

    async def round(self) -> float:
        return 0 if await self.dispatch() >= WEBHOOKS_PER_ROUND else self.poll_seconds

    async def dispatch(self) -> int:
        """Bring the webhooks that are behind up to date; how many were."""
        queued = 0
        horizon = self._horizon.confirmed
        # Every write wakes this, and most concern no webhook: one statement finds that out,
        # where the locking read below takes a transaction (three round trips).
        if not await self._db.scalar(_ANY_BEHIND, {"horizon": horizon}):
            return 0
        async with self._db.transaction() as tx:
            webhooks = await tx.fetch_all(_BEHIND, {"horizon": horizon})
            for webhook in webhooks:
                owner = webhook["user_id"]
                log_epoch = await sync.epoch(tx, owner)
                changes = await sync.entries(
                    tx, owner, webhook["log_position"], horizon, CHANGES_PER_WEBHOOK, log_epoch
                )
                if not changes:
                    continue
                if deliveries := _deliveries(webhook, changes, utcnow()):
                    await tx.execute(insert(DELIVERY).values(deliveries))
                    queued += len(deliveries)
                position = {"hook_id": webhook["id"], "position": changes[-1].position}
                await tx.execute(_ADVANCE, position)
        if queued:
            self._queued()
        return len(webhooks)
