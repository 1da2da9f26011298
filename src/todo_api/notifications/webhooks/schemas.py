"""Webhook request and response bodies."""

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

import httpx2 as httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from todo_api.notifications.webhooks.events import EVENTS, WebhookEvent

URL_MAX_LENGTH = 2000


def _receiver_url(url: str) -> str:
    # Only the shape here; whether its address may be called is the service's check.
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as error:
        raise ValueError(f"is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    if parts.fragment:
        raise ValueError("must not contain a fragment (#…)")
    try:
        httpx.URL(url)  # what will send to it must read it too (an IDNA host it cannot encode)
    except httpx.InvalidURL:
        raise ValueError("is not a URL requests can be sent to (check the host name)") from None
    return url


ReceiverUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=URL_MAX_LENGTH),
    AfterValidator(_receiver_url),
    Field(examples=["https://example.com/hooks/todo"], json_schema_extra={"format": "uri"}),
]


def _unique(events: list[WebhookEvent]) -> list[WebhookEvent]:
    return list(dict.fromkeys(events))


class WebhookCreate(BaseModel):
    """A new webhook: where to send events, and which (all of them by default)."""

    model_config = ConfigDict(extra="forbid")

    url: ReceiverUrl
    events: Annotated[
        list[WebhookEvent], Field(min_length=1, max_length=20), AfterValidator(_unique)
    ] = Field(default_factory=lambda: list(EVENTS))


class WebhookRead(BaseModel):
    """A webhook as listed: never with its secret. It is sent events only once its receiver
    has answered the challenge (`verified: true`); a webhook whose every attempt to deliver an
    event failed is disabled (`enabled: false`, with when and why)."""

    id: int
    url: str
    events: list[WebhookEvent]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    verified: bool = Field(
        description="Whether the receiver answered the challenge: only then is it sent events."
    )
    verified_at: datetime | None = Field(description="When it last did.")
    verification_error: str | None = Field(description="Why it is not verified (null when it is).")
    created_at: datetime


class WebhookCreated(WebhookRead):
    """A webhook just created, with its signing secret: shown this once, never again."""

    secret: str = Field(description="The Standard Webhooks signing secret (`whsec_…`).")


class DeliveryAttempt(BaseModel):
    """One attempt to deliver an event: the receiver's status code, or why there was none."""

    delivery_id: int
    message_id: str = Field(description="The `webhook-id` header, the same on every retry.")
    event: WebhookEvent
    attempt: int
    status_code: int | None
    error: str | None
    at: datetime
