"""The webhooks' tables: receivers, the outbox of deliveries, and what each attempt got back."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from todo_api.core.clock import utcnow
from todo_api.core.database import JSONValue, UTCDateTime


class Webhook(SQLModel, table=True):
    """A URL of the user's that is sent their changes, signed with its secret."""

    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_user_id_id", "user_id", "id"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    user_id: str = Field(sa_type=Text, foreign_key="user.id", ondelete="CASCADE")
    url: str = Field(sa_type=String(2000))
    # The events it is sent: one bit per event type, its index in `events.EVENTS`.
    events: int = Field(sa_type=Integer)
    # Kept as issued: signing needs the key itself. Never listed, never logged.
    secret: str = Field(sa_type=Text)
    enabled: bool = Field(default=True)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the receiver last proved it wants the events (it echoed a challenge): until then, and
    # after a failed verification, nothing is sent to it (`verification.py`).
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verification_error: str | None = Field(default=None, sa_type=String(200))
    # When deliveries were last claimed for it: claims go round the webhooks, least recently
    # served first (`deliveries.py`).
    served_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The position in the owner's change log up to which deliveries are queued: a webhook
    # starts at the log's head when it is verified (`dispatch.py`).
    log_position: int = Field(
        default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"}
    )


class WebhookDelivery(SQLModel, table=True):
    """One event to send to one webhook: the outbox its delivery workers claim rows from."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # What the workers poll: pending rows by when they are due.
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_webhook_id", "webhook_id"),
    )

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    webhook_id: int = Field(sa_type=Integer, foreign_key="webhook.id", ondelete="CASCADE")
    event: str = Field(sa_type=String(30))
    # The `webhook-id` header: the same on every retry, so receivers can drop duplicates.
    message_id: str = Field(sa_type=String(64))
    payload: dict[str, Any] = Field(sa_type=JSONValue)
    # pending → delivered, or failed once every attempt has.
    status: str = Field(default="pending", sa_type=String(10))
    attempts: int = Field(default=0, sa_type=Integer)
    # When a worker may take it: due time, retry time, or the end of a worker's lease on it.
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set while an attempt is in flight (until its outcome is recorded, or its lease runs out).
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """What one attempt to deliver got back: a status code, or why there was none."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        Index("ix_webhook_attempt_webhook_id_id", "webhook_id", "id"),
        # What the ceiling per minute counts.
        Index("ix_webhook_attempt_webhook_id_at", "webhook_id", "at"),
    )

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    webhook_id: int = Field(sa_type=Integer, foreign_key="webhook.id", ondelete="CASCADE")
    delivery_id: int = Field(
        sa_type=Integer, foreign_key="webhook_delivery.id", ondelete="CASCADE", index=True
    )
    attempt: int = Field(sa_type=Integer)
    status_code: int | None = Field(default=None, sa_type=Integer)
    error: str | None = Field(default=None, sa_type=String(200))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
