"""Queueing webhook deliveries from the change log: each webhook follows its owner's log.

A webhook stores the log position it has been given everything up to (`log_position`). A
dispatch round locks the webhooks that are behind (`FOR UPDATE SKIP LOCKED`: one process per
webhook at a time, the others take other webhooks), writes one delivery per change it
subscribes to, and moves the position, all in one transaction. So each change is queued for
each webhook exactly once; the deliverer then sends it at least once.

Following the log needs no work on the write's path: a round follows it only up to the log's
horizon (todo_api.horizon), below which every change is final, so `id > log_position` never
skips a change that commits late.
"""

import logging
from collections.abc import Callable

import orjson
from sqlalchemy import bindparam, insert, select, update

from todo_api.background import Job
from todo_api.config import Settings
from todo_api.db import Database, Row
from todo_api.horizon import ChangeHorizon
from todo_api.models import Change, table_of, utcnow
from todo_api.schemas.webhooks import EVENTS
from todo_api.services.changes import AFTER, ChangeCursor, change_json, epoch
from todo_api.services.webhooks import DELIVERY, WEBHOOK

logger = logging.getLogger(__name__)

WEBHOOKS_PER_ROUND = 50
CHANGES_PER_WEBHOOK = 500
CHANGE = table_of(Change)

_BEHIND = (
    select(WEBHOOK.c.id, WEBHOOK.c.user_id, WEBHOOK.c.events, WEBHOOK.c.log_position)
    .where(
        WEBHOOK.c.enabled.is_(True),
        select(CHANGE.c.id)
        .where(
            CHANGE.c.user_id == WEBHOOK.c.user_id,
            CHANGE.c.id > WEBHOOK.c.log_position,
            CHANGE.c.id <= bindparam("horizon"),
        )
        .exists(),
    )
    .order_by(WEBHOOK.c.id)
    .limit(WEBHOOKS_PER_ROUND)
    .with_for_update(skip_locked=True, of=WEBHOOK)
)
_ADVANCE = (
    update(WEBHOOK)
    .where(WEBHOOK.c.id == bindparam("hook_id"))
    .values(log_position=bindparam("position"))
)


def _deliveries(webhook: Row, changes: list[Row], log_epoch: int) -> list[dict[str, object]]:
    now = utcnow()
    rows = []
    for change in changes:
        bit = 1 << EVENTS.index(change["type"]) if change["type"] in EVENTS else 0
        if not webhook["events"] & bit:
            continue
        change["cursor"] = ChangeCursor(log_epoch, change["id"])
        rows.append(
            {
                "webhook_id": webhook["id"],
                "event": change["type"],
                "message_id": f"msg_{change['cursor'].encode()}_{webhook['id']}",
                "payload": orjson.loads(change_json(change)),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return rows


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
        horizon: ChangeHorizon,
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
        async with self._db.transaction() as tx:
            webhooks = await tx.fetch_all(_BEHIND, {"horizon": horizon})
            for webhook in webhooks:
                params = {
                    "owner": webhook["user_id"],
                    "after": webhook["log_position"],
                    "fetch": CHANGES_PER_WEBHOOK,
                }
                changes = [row for row in await tx.fetch_all(AFTER, params) if row["id"] <= horizon]
                if not changes:
                    continue
                log_epoch = await epoch(tx, webhook["user_id"])
                if deliveries := _deliveries(webhook, changes, log_epoch):
                    await tx.execute(insert(DELIVERY).values(deliveries))
                    queued += len(deliveries)
                position = {"hook_id": webhook["id"], "position": changes[-1]["id"]}
                await tx.execute(_ADVANCE, position)
        if queued:
            self._queued()
        return len(webhooks)
