"""Better Auth's asymmetric tokens (EdDSA, ES*, RS256, PS256), checked against its JWKS."""

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import httpx2 as httpx
import jwt

from todo_api.accounts.tokens import AuthError, decode

logger = logging.getLogger(__name__)


class JwksKeys:
    """Better Auth's public keys, fetched from its JWKS endpoint and kept in memory.

    Keys are looked up by `kid`. An unknown `kid` triggers a refetch, at most once per
    `min_refresh_interval` (a flood of forged kids costs the frontend one request per interval);
    concurrent requests share one fetch. A key set older than `max_age` is refreshed in the
    background while the cached keys keep verifying, so a JWKS outage only affects keys this
    process has never seen.
    """

    MAX_RESPONSE_BYTES = 1_000_000

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        max_age: float = 3600,
        min_refresh_interval: float = 30,
    ) -> None:
        self.url = url
        self._client = client
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._jwks: dict[str, dict[str, Any]] = {}
        self._keys: dict[tuple[str, str], jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def key(self, kid: str, algorithm: str) -> jwt.PyJWK:
        """The verification key `kid` names, for `algorithm`; AuthError if there is none."""
        if kid not in self._jwks:
            await self._refresh(if_missing=kid)
        elif time.monotonic() - self._fetched_at > self._max_age:
            self._refresh_in_background()
        return self._prepared(kid, algorithm)

    def _prepared(self, kid: str, algorithm: str) -> jwt.PyJWK:
        if (key := self._keys.get((kid, algorithm))) is not None:
            return key
        jwk = self._jwks.get(kid)
        if jwk is None:
            raise AuthError("Invalid token", f"unknown key: no kid {kid[:64]!r} in {self.url}")
        # A key that names its algorithm is bound to it; one that does not takes the token's
        # (already allow-listed) algorithm only if its key type fits that algorithm.
        if jwk.get("alg", algorithm) != algorithm:
            raise AuthError(
                "Invalid token", f"key {kid!r} is for {jwk.get('alg')}, not {algorithm}"
            )
        try:
            key = jwt.PyJWK(jwk, algorithm)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            raise AuthError("Invalid token", f"key {kid!r} is unusable for {algorithm}") from None
        self._keys[(kid, algorithm)] = key
        return key

    async def _refresh(self, *, if_missing: str | None = None) -> None:
        async with self._lock:
            if if_missing is not None and if_missing in self._jwks:
                return  # another request fetched it while this one waited
            if time.monotonic() - self._attempted_at < self._min_refresh_interval:
                return
            self._attempted_at = time.monotonic()
            try:
                jwks = await self._fetch()
            except (httpx.HTTPError, ValueError) as error:
                logger.warning("Fetching the JWKS from %s failed: %s", self.url, error)
                return
            self._jwks = jwks
            self._keys = {}
            self._fetched_at = time.monotonic()

    async def close(self) -> None:
        """Stop a background refresh still running (on shutdown)."""
        if self._background is not None and not self._background.done():
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background

    def _refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._refresh())

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        content = bytearray()
        headers = {"Accept": "application/json"}
        async with self._client.stream("GET", self.url, headers=headers) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > self.MAX_RESPONSE_BYTES:
                    raise ValueError("JWKS response is too large")
        body = json.loads(content)
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise ValueError("JWKS response has no `keys` list")
        usable = {
            jwk["kid"]: jwk
            for jwk in keys
            if isinstance(jwk, dict)
            and isinstance(jwk.get("kid"), str)
            and jwk.get("use", "sig") == "sig"
            and jwk.get("kty") in {"OKP", "EC", "RSA"}
        }
        logger.info("Fetched %d signing keys from %s", len(usable), self.url)
        return usable


class JwksVerifier:
    """Verifies Better Auth's asymmetric tokens (EdDSA, ES*, RS256, PS256) against its JWKS."""

    def __init__(
        self,
        keys: JwksKeys,
        *,
        algorithms: Sequence[str],
        issuer: str | None,
        audience: str | None,
        leeway_seconds: float = 30,
    ) -> None:
        self.keys = keys
        self.algorithms = list(algorithms)
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds

    async def decode(self, token: str, header: dict[str, Any]) -> dict[str, Any]:
        """The token's claims, or AuthError; `header` is the token's (unverified) header."""
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("Invalid token", "no kid in the header of an asymmetric token")
        key = await self.keys.key(kid, header["alg"])
        required = ["exp"] + ["iss"] * bool(self.issuer) + ["aud"] * bool(self.audience)
        return decode(
            token,
            key,
            algorithms=self.algorithms,
            issuer=self.issuer,
            audience=self.audience,
            options={
                "require": required,
                "verify_aud": self.audience is not None,
                # A published 512-bit RSA key is as good as none.
                "enforce_minimum_key_length": True,
            },
            leeway=self.leeway_seconds,
        )
