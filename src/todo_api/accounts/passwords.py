"""Passwords: the policy a new one must meet, and Argon2id hashing off the event loop."""

import os
import secrets
import threading
from functools import cache
from importlib.resources import files

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from todo_api.accounts.errors import WeakPassword
from todo_api.core.config import Settings

# Argon2id with argon2-cffi's recommended parameters (RFC 9106's second choice).
password_hash = PasswordHash((Argon2Hasher(),))
# Each Argon2 run takes its memory cost (64 MiB) and a core: a burst of sign-ins queues here
# instead of exhausting memory.
_ARGON2_SLOTS = threading.BoundedSemaphore(max(2, os.cpu_count() or 1))


@cache
def common_passwords() -> frozenset[str]:
    """The most common passwords (lower case), shipped with the package."""
    text = files("todo_api.accounts").joinpath("data/common-passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


def check_password_policy(password: str, settings: Settings, email: str = "") -> None:
    """Raise WeakPassword unless the password is long enough, not a common one, not the email
    (or its local part) and not one character repeated."""
    if len(password) < settings.password_min_length:
        raise WeakPassword(f"Password must be at least {settings.password_min_length} characters")
    folded = password.strip().lower()
    if folded in common_passwords():
        raise WeakPassword("Password is too common; choose another one")
    if email and folded in {email.lower(), email.lower().partition("@")[0]}:
        raise WeakPassword("Password must not be the email address")
    if len(set(folded)) == 1:
        raise WeakPassword("Password must not be one character repeated")


def _hash_now(password: str) -> str:
    with _ARGON2_SLOTS:
        return password_hash.hash(password)


def _verify_now(password: str, stored: str | None) -> tuple[bool, str | None]:
    with _ARGON2_SLOTS:
        # An unknown email is checked against a dummy hash: it costs one Argon2 run too.
        return password_hash.verify_and_update(password, stored or _dummy_hash())


@cache
def _dummy_hash() -> str:
    return password_hash.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    """The password's Argon2id hash (computed in a worker thread)."""
    return await to_thread.run_sync(_hash_now, password)


async def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """Whether `password` matches the `stored` hash, and the hash to store instead when the
    hashing parameters changed since; an unknown account (`stored` None) costs as much."""
    return await to_thread.run_sync(_verify_now, password, stored)
