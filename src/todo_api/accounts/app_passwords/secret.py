"""An app password's secret: how it is made, and the digest that is all the database keeps."""

import hashlib
import secrets

# 32 symbols without the look-alikes (l, o, 0, 1), so that typing one on a phone is easy.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_GROUPS = 5
_GROUP_LENGTH = 6  # 30 symbols of 5 bits each: 150 random bits


def new_secret() -> str:
    """A new random secret, in dash-separated groups: `abcdef-ghijkm-…`."""
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )


def digest(secret: str) -> str:
    """What the database keeps of a secret: its SHA-256, hex.

    A fast hash is enough here, unlike for a password a person chose: the secret is 150 random
    bits, so no guess list or brute force gets anywhere near it, and a lookup by digest costs
    an index probe, not an Argon2 run per request. Case, dashes and spaces a person typed are
    ignored.
    """
    typed = "".join(secret.split()).replace("-", "").lower()
    return hashlib.sha256(typed.encode()).hexdigest()
