"""Verifying a webhook's receiver: it proves it wants the events before it is sent any.

One signed POST of the event `webhook.verify`, `data: {"challenge": <random>}`; the receiver
must answer 2xx within the timeout with the JSON `{"challenge": <the same>}`. A receiver that
does is verified, and from then on sent the changes its owner's log gets after this moment; one
that does not is unverified, sent nothing, and shows why. Slack, Zoom and Microsoft Graph check
their receivers the same way: a service that sends to any URL a user names must not become a
way to send unwanted requests to somebody else's.
"""

import hmac
import json
import secrets

from todo_api.core.clock import utcnow
from todo_api.core.database import Database
from todo_api.notifications.webhooks import repository
from todo_api.notifications.webhooks.errors import WebhookNotFound
from todo_api.notifications.webhooks.repository import WebhookRow
from todo_api.notifications.webhooks.secret_box import SecretBox
from todo_api.notifications.webhooks.sender import Outcome, WebhookSender

VERIFY_EVENT = "webhook.verify"
NO_ECHO = 'The receiver did not answer with the challenge as JSON: {"challenge": "…"}'


def _failure(outcome: Outcome, challenge: str) -> str | None:
    """Why the receiver is not verified by this answer; None if it is."""
    if (failure := outcome.failure()) is not None:
        return f"The receiver did not take the challenge: {failure}"
    try:
        answer = json.loads(outcome.body)
    except ValueError:
        return NO_ECHO
    echoed = answer.get("challenge") if isinstance(answer, dict) else None
    if not isinstance(echoed, str) or not hmac.compare_digest(echoed, challenge):
        return NO_ECHO
    return None


async def verify(
    db: Database, sender: WebhookSender, box: SecretBox, user_id: str, webhook_id: int
) -> WebhookRow:
    """Challenge the user's webhook's receiver; the webhook, verified or not (and why)."""
    receiver = await repository.receiver(db, user_id, webhook_id)
    if receiver is None:
        raise WebhookNotFound(webhook_id)
    challenge = secrets.token_urlsafe(32)
    now = utcnow()
    payload = {
        "type": VERIFY_EVENT,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"challenge": challenge},
    }
    message_id = f"msg_verify_{webhook_id}_{secrets.token_hex(8)}"
    outcome = await sender.send(
        receiver["url"], box.open(receiver["secret"]), message_id, payload, read_answer=True
    )
    failure = _failure(outcome, challenge)
    if failure is None:
        row = await repository.mark_verified(db, user_id, webhook_id, now)
    else:
        row = await repository.mark_unverified(db, user_id, webhook_id, failure)
    if row is None:  # deleted while its receiver answered
        raise WebhookNotFound(webhook_id)
    return row
