"""Bearer tokens: verifying the ones clients send, and issuing development ones."""

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt

from todo_api.models import utcnow

MAX_USER_ID_LENGTH = 255


class AuthError(Exception):
    """The request is not authenticated; the message is safe to show the client."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller: a user id and the profile claims their token carried."""

    user_id: str
    email: str | None = None
    name: str | None = None
    image: str | None = None


class VerifiedTokens:
    """Tokens already verified, with their expiry: a client sends the same one many times.

    Only successes are kept, keyed by the whole token string, so a cached answer is exactly
    what verifying again would say until `exp`, which is checked on every hit.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str, leeway_seconds: float) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, expires_at = entry
        if time.time() > expires_at + leeway_seconds:
            del self._entries[token]
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        self._entries[token] = (principal, expires_at)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class SharedSecretVerifier:
    """Verifies HS* tokens signed with the secret shared with the frontend."""

    secret: str
    algorithm: str = "HS256"
    leeway_seconds: float = 30
    verified: VerifiedTokens = field(default_factory=VerifiedTokens)

    def verify(self, token: str) -> Principal:
        """Return the caller a token names, or raise AuthError."""
        if (principal := self.verified.get(token, self.leeway_seconds)) is not None:
            return principal
        claims = self._decode(token)
        principal = principal_from_claims(claims)
        self.verified.put(token, principal, claims["exp"])
        return principal

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                # Fixed by configuration, never read from the token: this is what stops
                # `alg=none` and algorithm-confusion tokens.
                algorithms=[self.algorithm],
                options={"require": ["exp"], "verify_aud": False},
                leeway=self.leeway_seconds,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Token has expired") from None
        except jwt.InvalidTokenError:
            raise AuthError("Invalid token") from None
        return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The caller a verified token names (`sub`, else `user_id`), with its profile claims."""
    user_id = claims.get("sub") or claims.get("user_id")
    if not user_id:
        raise AuthError("User ID not found in token")
    if (
        not isinstance(user_id, str)
        or len(user_id) > MAX_USER_ID_LENGTH
        or not user_id.isprintable()
    ):
        raise AuthError("Invalid user ID in token")
    return Principal(
        user_id=user_id,
        email=_profile_claim(claims, "email"),
        name=_profile_claim(claims, "name"),
        image=_profile_claim(claims, "image"),
    )


def _profile_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    # Profile claims only decorate the user row: drop anything the database could not store.
    if isinstance(value, str) and value and "\x00" not in value and len(value) <= 2048:
        return value
    return None


def issue_token(
    secret: str,
    *,
    subject: str,
    algorithm: str = "HS256",
    expires_in: timedelta = timedelta(hours=1),
    **profile: str,
) -> str:
    """Sign a token with the shared secret, shaped like Better Auth's (`sub` plus profile)."""
    now = utcnow()
    claims = {"sub": subject, "iat": now, "exp": now + expires_in, **profile}
    return jwt.encode(claims, secret, algorithm=algorithm)
