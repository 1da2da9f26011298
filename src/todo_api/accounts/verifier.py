"""One `verify` for every configured token mode, with a cache of the tokens already verified."""

import dataclasses
import logging
import time
from collections import OrderedDict

import httpx2 as httpx
import jwt

from todo_api.accounts.jwks import JwksKeys, JwksVerifier
from todo_api.accounts.tokens import (
    AuthError,
    Principal,
    SharedSecretVerifier,
    principal_from_claims,
)
from todo_api.core.config import Settings

logger = logging.getLogger(__name__)


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


class TokenVerifier:
    """Every configured token mode behind one `verify`, with a cache of verified tokens.

    The mode is chosen by which allow-list the token header's `alg` is on, and that mode's
    verifier then checks the signature against its own list only: an HS256 token signed with a
    public key goes to the shared-secret verifier and fails there; `none` matches no mode.
    """

    def __init__(
        self,
        shared_secret: SharedSecretVerifier | None = None,
        jwks: JwksVerifier | None = None,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self.shared_secret = shared_secret
        self.jwks = jwks
        self.verified = verified or VerifiedTokens()
        self._leeway = max(
            verifier.leeway_seconds for verifier in (shared_secret, jwks) if verifier is not None
        )

    async def verify(self, token: str) -> Principal:
        """Return the caller a token names, or raise AuthError."""
        if (principal := self.verified.get(token, self._leeway)) is not None:
            return principal
        try:
            principal, expires_at = await self._verify(token)
        except AuthError as error:
            logger.debug("Token refused: %s", error.reason)
            raise
        self.verified.put(token, principal, expires_at)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError("Invalid token", f"malformed ({error})") from None
        algorithm = header.get("alg")
        if self.shared_secret is not None and algorithm == self.shared_secret.algorithm:
            claims = self.shared_secret.decode(token, header)
        elif self.jwks is not None and algorithm in self.jwks.algorithms:
            claims = await self.jwks.decode(token, header)
        else:
            raise AuthError(
                "Invalid token", f"algorithm {str(algorithm)[:20]!r} is not accepted here"
            )
        principal = principal_from_claims(claims)
        if (
            self.shared_secret is not None
            and claims.get("iss") == self.shared_secret.own_issuer
            and claims.get("emailVerified") is False
        ):
            # The service's own sign-up: an address nobody verified is not written into the
            # shared `user` table (see `service.py`).
            principal = dataclasses.replace(principal, email=None)
        assert principal.expires_at is not None  # principal_from_claims requires it
        return principal, principal.expires_at

    async def close(self) -> None:
        """Release what the verifier runs in the background."""
        if self.jwks is not None:
            await self.jwks.keys.close()


def create_verifier(settings: Settings, http: httpx.AsyncClient) -> TokenVerifier:
    """The token verifier for the configured modes; `http` fetches the JWKS."""
    shared_secret = None
    if settings.shared_secret_enabled:
        shared_secret = SharedSecretVerifier(
            secret=settings.jwt_secret(),
            algorithm=settings.jwt_algorithm,
            leeway_seconds=settings.jwt_leeway_seconds,
            own_issuer=settings.token_issuer,
            own_audience=settings.token_audience,
            expected_issuer=settings.shared_secret_issuer,
            expected_audience=settings.shared_secret_audience,
        )
    jwks = None
    if (jwks_url := settings.effective_jwks_url) is not None:
        keys = JwksKeys(
            jwks_url,
            http,
            max_age=settings.jwks_cache_seconds,
            min_refresh_interval=settings.jwks_refresh_min_interval_seconds,
        )
        jwks = JwksVerifier(
            keys,
            algorithms=settings.jwks_algorithms,
            issuer=settings.effective_jwt_issuer,
            audience=settings.effective_jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )
    return TokenVerifier(shared_secret, jwks)
