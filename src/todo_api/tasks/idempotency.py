"""Idempotency keys: which task a request sent with a key created, for its retries.

A key belongs to one user and one request body for IDEMPOTENCY_TTL. It stores only the digest of
the body and the id of the task it created: a retry answers with that task as it is now (the
first response's very body while nobody has changed it). The key is stored in the transaction
that creates the task, so a retry racing the first request either finds the key or fails on its
primary key (and then finds it).

The table stays bounded: a user holds at most `keys_per_user` keys (the oldest go first), and
each process purges every user's expired keys at most once per PURGE_INTERVAL_SECONDS.
"""

import hashlib
import math
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, insert, select

from todo_api.core.database import Database, table_of
from todo_api.tasks.errors import IdempotencyKeyReused
from todo_api.tasks.models import IdempotencyKey, TaskRow

IDEMPOTENCY_TTL = timedelta(hours=24)
PURGE_INTERVAL_SECONDS = 600.0

KEY = table_of(IdempotencyKey)
_CUTOFF = bindparam("cutoff", type_=KEY.c.created_at.type)
_OF_OWNER = KEY.c.user_id == bindparam("owner")
_GET_KEY = select(KEY.c.request_hash, KEY.c.status_code, KEY.c.task_id).where(
    _OF_OWNER, KEY.c.key == bindparam("key"), KEY.c.created_at >= _CUTOFF
)
_PURGE_KEYS = delete(KEY).where(_OF_OWNER, KEY.c.created_at < _CUTOFF)
_PURGE_ALL_KEYS = delete(KEY).where(KEY.c.created_at < _CUTOFF)
# The user's keys older than their `keep`-th newest (the (user_id, created_at) index serves it).
_KEEP_NEWEST = delete(KEY).where(
    _OF_OWNER,
    KEY.c.created_at
    < (
        select(KEY.c.created_at)
        .where(_OF_OWNER)
        .order_by(KEY.c.created_at.desc())
        .offset(bindparam("skip"))
        .limit(1)
        .scalar_subquery()
    ),
)
_STORE_KEY = insert(KEY).values(
    user_id=bindparam("owner"),
    key=bindparam("key"),
    request_hash=bindparam("request_hash"),
    status_code=bindparam("status_code"),
    task_id=bindparam("task_id"),
    created_at=bindparam("now", type_=KEY.c.created_at.type),
)
# When each database (one per app and process) last purged every user's expired keys.
_last_global_purge: "weakref.WeakKeyDictionary[Database, float]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What a key recorded: the first response's status and the task it created."""

    status_code: int
    task_id: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response to an idempotent request: the first one (with the JSON its creation
    logged), or its replay (the task as it is now)."""

    status_code: int
    task: TaskRow
    replayed: bool
    json: bytes | None = None


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A request sent by `user_id` with `key`, and a digest of its body."""

    user_id: str
    key: str
    request_hash: str
    now: datetime

    @classmethod
    def of(cls, user_id: str, key: str, body: BaseModel, now: datetime) -> "IdempotentRequest":
        """The request `body` makes, as the key records it."""
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        return cls(user_id, key, digest, now)

    def params(self) -> dict[str, Any]:
        """The statement parameters that find the key while it lasts."""
        return {"owner": self.user_id, "key": self.key, "cutoff": self.now - IDEMPOTENCY_TTL}


async def find(db: Database, request: IdempotentRequest) -> StoredKey | None:
    """What this key recorded, if it did; IdempotencyKeyReused if it was for another body."""
    stored = await db.fetch_one(_GET_KEY, request.params())
    if stored is None:
        return None
    if stored["request_hash"] != request.request_hash:
        raise IdempotencyKeyReused()
    return StoredKey(stored["status_code"], stored["task_id"])


async def store(
    db: Database,
    tx: Database,
    request: IdempotentRequest,
    status_code: int,
    task_id: int,
    keys_per_user: int,
) -> None:
    """Record the key, in the transaction `tx` (of `db`) that created its task;
    IntegrityViolation if a racing request stored the key first. Drops the user's expired keys
    and their oldest ones past `keys_per_user` (and, now and then, every user's expired keys)."""
    params = request.params()
    now = time.monotonic()
    if now - _last_global_purge.get(db, -math.inf) > PURGE_INTERVAL_SECONDS:
        _last_global_purge[db] = now
        await tx.execute(_PURGE_ALL_KEYS, params)
    else:
        await tx.execute(_PURGE_KEYS, params)
    values = {"request_hash": request.request_hash, "status_code": status_code, "task_id": task_id}
    await tx.execute(_STORE_KEY, params | values | {"now": request.now})
    await tx.execute(_KEEP_NEWEST, {"owner": request.user_id, "skip": keys_per_user - 1})
