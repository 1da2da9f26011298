"""Idempotency keys: the first response to a request sent with a key, replayed for its retries.

A key belongs to one user and one request body for IDEMPOTENCY_TTL; the response is stored in
the transaction that made it, so a retry racing the first request either finds the key or
fails on its primary key (and then finds it).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, insert, select

from todo_api.db import Database
from todo_api.errors import IdempotencyKeyReused
from todo_api.models import IdempotencyKey, table_of

IDEMPOTENCY_TTL = timedelta(hours=24)

KEY = table_of(IdempotencyKey)
_CUTOFF = bindparam("cutoff", type_=KEY.c.created_at.type)
_GET_KEY = select(KEY.c.request_hash, KEY.c.status_code, KEY.c.response).where(
    KEY.c.user_id == bindparam("owner"), KEY.c.key == bindparam("key"), KEY.c.created_at >= _CUTOFF
)
_PURGE_KEYS = delete(KEY).where(KEY.c.user_id == bindparam("owner"), KEY.c.created_at < _CUTOFF)
_STORE_KEY = insert(KEY).values(
    user_id=bindparam("owner"),
    key=bindparam("key"),
    request_hash=bindparam("request_hash"),
    status_code=bindparam("status_code"),
    response=bindparam("response", type_=KEY.c.response.type),
    created_at=bindparam("now", type_=KEY.c.created_at.type),
)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response to an idempotent request: the first one, or its replay."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


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


async def replay(db: Database, request: IdempotentRequest) -> StoredResponse | None:
    """The stored response for this key, if there is one; IdempotencyKeyReused if it was stored
    for another body."""
    stored = await db.fetch_one(_GET_KEY, request.params())
    if stored is None:
        return None
    if stored["request_hash"] != request.request_hash:
        raise IdempotencyKeyReused()
    return StoredResponse(stored["status_code"], stored["response"], replayed=True)


async def store(
    tx: Database, request: IdempotentRequest, status_code: int, body: dict[str, Any]
) -> StoredResponse:
    """Record the response for the key, in the transaction `tx` that made it (dropping the
    user's expired keys); IntegrityViolation if a racing request stored the key first."""
    await tx.execute(_PURGE_KEYS, request.params())
    values = {"request_hash": request.request_hash, "status_code": status_code, "response": body}
    await tx.execute(_STORE_KEY, request.params() | values | {"now": request.now})
    return StoredResponse(status_code, body, replayed=False)
