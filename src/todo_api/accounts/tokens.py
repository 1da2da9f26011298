"""Bearer tokens: the caller they name (`Principal`), checking the ones signed with the shared
secret (HS*), and issuing the service's own."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt

from todo_api.core.clock import utcnow
from todo_api.core.errors import Unauthorized

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
    """The verified caller: a user id, the profile claims their token carried (whether its
    issuer verified the email: `email_verified`, None when it did not say), and when the token
    expires (`expires_at`, a Unix time; not part of who they are)."""

    user_id: str
    email: str | None = None
    name: str | None = None
    image: str | None = None
    email_verified: bool | None = None
    expires_at: float | None = field(default=None, compare=False)


def decode(token: str, key: Any, **checks: Any) -> dict[str, Any]:
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
        claims = decode(
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
    expires_at = claims.get("exp")
    # PyJWT reads `exp` with int(), so "2000000000" passes its check: only a number is one.
    if not isinstance(expires_at, int | float) or isinstance(expires_at, bool):
        raise AuthError("Invalid token", "its exp is not a number")
    email = _profile_claim(claims, "email")
    return Principal(
        user_id=user_id,
        email=email,
        name=_profile_claim(claims, "name"),
        image=_profile_claim(claims, "image"),
        email_verified=_verified_claim(claims) if email is not None else None,
        expires_at=float(expires_at),
    )


def _verified_claim(claims: dict[str, Any]) -> bool | None:
    verified = claims.get("emailVerified")
    return verified if isinstance(verified, bool) else None


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
