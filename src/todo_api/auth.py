"""Bearer tokens: verifying the ones clients send (shared secret or Better Auth's JWKS), and
issuing the service's own."""

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import jwt

from todo_api.config import Settings
from todo_api.errors import Unauthorized
from todo_api.models import utcnow

logger = logging.getLogger(__name__)

MAX_USER_ID_LENGTH = 255


class AuthError(Unauthorized):
    """The token is not valid; the message is safe to show the client (it is the 401's detail).

    `reason` says why in an operator's words (logged at DEBUG): a wrong secret and an expired
    token look alike to the client, not to the person who configured the service.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


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


def _decode(token: str, key: Any, **checks: Any) -> dict[str, Any]:
    """PyJWT's decode, its failures turned into the AuthError a client may see."""
    try:
        return jwt.decode(token, key, **checks)
    except jwt.ExpiredSignatureError:
        raise AuthError("Token has expired", "expired") from None
    except jwt.PyJWTError as error:  # also key errors, e.g. a too short key
        raise AuthError("Invalid token", _reason(error, checks)) from None


def _reason(error: jwt.PyJWTError, checks: dict[str, Any]) -> str:
    """Why PyJWT refused a token, for the operator (never quoting the token)."""
    if isinstance(error, jwt.InvalidSignatureError):
        return "bad signature (signed with another secret or key)"
    if isinstance(error, jwt.InvalidIssuerError):
        return f"wrong issuer (expected {checks.get('issuer')!r})"
    if isinstance(error, jwt.InvalidAudienceError):
        return f"wrong audience (expected {checks.get('audience')!r})"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"no {error.claim!r} claim"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "not valid yet (iat or nbf in the future)"
    if isinstance(error, jwt.DecodeError):
        return f"malformed ({error})"
    return f"{type(error).__name__}: {error}"


# The JOSE `typ` of the service's own tokens: RFC 9068's access-token type.
ACCESS_TOKEN_TYPE = "at+jwt"


def _has_audience(claims: dict[str, Any], audience: str) -> bool:
    aud = claims.get("aud")
    return aud == audience or (isinstance(aud, list) and audience in aud)


class SharedSecretVerifier:
    """Verifies HS* tokens signed with the secret shared with the frontend.

    A token whose `iss` is the service's own is one the service issued: it must also carry the
    service's audience and the access-token `typ`. Any other token is the frontend's; it must
    carry `expected_issuer` and `expected_audience` when the operator set them, and otherwise
    needs only `exp` (the guidelines' `{sub, exp}`).
    """

    def __init__(
        self,
        secret: str,
        algorithm: str = "HS256",
        leeway_seconds: float = 30,
        *,
        own_issuer: str = "todo-api",
        own_audience: str = "todo-api",
        expected_issuer: str | None = None,
        expected_audience: str | None = None,
    ) -> None:
        self.secret = secret
        self.algorithm = algorithm
        self.leeway_seconds = leeway_seconds
        self.own_issuer = own_issuer
        self.own_audience = own_audience
        self.expected_issuer = expected_issuer
        self.expected_audience = expected_audience

    def decode(self, token: str, header: dict[str, Any] | None = None) -> dict[str, Any]:
        """The token's claims, or AuthError; `header` is the token's (unverified) header."""
        claims = _decode(
            token,
            self.secret,
            # Fixed by configuration, never read from the token: this is what stops
            # `alg=none` and algorithm-confusion tokens.
            algorithms=[self.algorithm],
            # Issuer and audience are checked below: which apply depends on the issuer.
            options={"require": ["exp"], "verify_aud": False},
            leeway=self.leeway_seconds,
        )
        if header is None:
            header = jwt.get_unverified_header(token)
        if claims.get("iss") == self.own_issuer:
            if header.get("typ") != ACCESS_TOKEN_TYPE or not _has_audience(
                claims, self.own_audience
            ):
                raise AuthError("Invalid token")
        elif (self.expected_issuer and claims.get("iss") != self.expected_issuer) or (
            self.expected_audience and not _has_audience(claims, self.expected_audience)
        ):
            raise AuthError("Invalid token")
        return claims

    def issue(
        self, *, subject: str, expires_in: timedelta = timedelta(hours=1), **profile: Any
    ) -> str:
        """One of the service's own access tokens for `subject`."""
        return issue_token(
            self.secret,
            subject=subject,
            algorithm=self.algorithm,
            expires_in=expires_in,
            issuer=self.own_issuer,
            audience=self.own_audience,
            token_type=ACCESS_TOKEN_TYPE,
            **profile,
        )


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
        return _decode(
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
            # shared `user` table (see services/accounts.py).
            principal = dataclasses.replace(principal, email=None)
        return principal, claims["exp"]

    async def close(self) -> None:
        """Release what the verifier runs in the background."""
        if self.jwks is not None:
            await self.jwks.keys.close()


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
    issuer: str | None = None,
    audience: str | None = None,
    token_type: str | None = None,
    **profile: Any,
) -> str:
    """Sign a token with the shared secret, shaped like Better Auth's (`sub` plus profile), with
    `iss`, `aud` and the header's `typ` when given."""
    now = utcnow()
    claims = {"sub": subject, "iat": now, "exp": now + expires_in, **profile}
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    headers = {"typ": token_type} if token_type else None
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


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
