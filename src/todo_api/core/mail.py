"""Sending mail: a composed message over SMTP_URL (aiosmtplib), for whichever domain wrote it.

`smtp://user:password@host:587` speaks STARTTLS when the server offers it; `smtps://…:465` TLS
from the start. The server's answers are safe to log (they never hold the credentials).
"""

from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from todo_api.core.config import Settings

SMTP_TIMEOUT_SECONDS = 30.0


class MailNotSent(Exception):
    """The server refused the message or could not be reached; the message says why."""


def smtp_options(url: str) -> dict[str, Any]:
    """aiosmtplib's connection arguments for an SMTP_URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://…")
    return {
        "hostname": parts.hostname,
        "port": parts.port or (465 if parts.scheme == "smtps" else 587),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": parts.scheme == "smtps",
        "timeout": SMTP_TIMEOUT_SECONDS,
    }


class SmtpMailer:
    """Sends messages from SMTP_FROM through SMTP_URL (made only when both are set)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_url is not None and settings.smtp_from is not None
        self.sender = settings.smtp_from
        self._options = smtp_options(settings.smtp_url.get_secret_value())

    @staticmethod
    def configured(settings: Settings) -> bool:
        """Whether mail can be sent at all (SMTP_URL and SMTP_FROM set)."""
        return bool(settings.smtp_url and settings.smtp_from)

    async def send(self, message: EmailMessage) -> None:
        """Send `message` (its From is the service's); MailNotSent if that failed."""
        if "From" not in message:
            message["From"] = self.sender
        try:
            await aiosmtplib.send(message, **self._options)
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailNotSent(str(error) or type(error).__name__) from error
