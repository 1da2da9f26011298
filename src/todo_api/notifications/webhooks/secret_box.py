"""Webhook signing secrets at rest: encrypted with a key of the service's (SECRET_KEY), so that
a copy of the database alone signs nothing.

Signing needs the secret itself, so it is encrypted, not hashed: Fernet (AES-128-CBC and
HMAC-SHA256, from `cryptography`) under a key derived from SECRET_KEY, or from the shared
token secret when SECRET_KEY is not set. Secrets stored before they were encrypted (they start
with `whsec_`) are still read as they are.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from todo_api.core.config import Settings

_PLAINTEXT_PREFIX = "whsec_"
_PURPOSE = b"todo-api webhook secrets"


class SecretUnreadable(Exception):
    """A stored secret the configured key cannot open (SECRET_KEY changed since)."""


def _fernet(key_material: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    """Seals webhook secrets for the database, and opens them to sign."""

    def __init__(self, settings: Settings) -> None:
        self._fernet = _fernet(settings.service_key())

    def seal(self, secret: str) -> str:
        """The secret as it is stored."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds; SecretUnreadable if this key cannot open it."""
        if stored.startswith(_PLAINTEXT_PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("the webhook's secret was sealed with another key") from None
