"""The webhooks' failures."""

from todo_api.core.errors import Conflict, FieldRefused, NotFound


class WebhookNotFound(NotFound):
    """No webhook with that id belongs to the caller."""

    default_detail = "Webhook not found"

    def __init__(self, webhook_id: int) -> None:
        super().__init__()
        self.webhook_id = webhook_id


class WebhookLimitReached(Conflict):
    """The user already has as many webhooks as one account may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Webhook limit reached: one user may have at most {limit} webhooks")
        self.limit = limit


class UnsafeWebhookUrl(FieldRefused):
    """The URL may not receive webhooks: not https in production, or not a public address."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__("url", f"This URL cannot receive webhooks: {reason}", url)
