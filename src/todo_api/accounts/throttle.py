"""Sign-in throttling and the sign-up limit.

Failed sign-ins are counted per account-and-address and per address. An attacker guessing one
account's password from their address locks only themselves out: the owner, from theirs,
still signs in. Each limit is a ladder of moving windows, so guessing that goes on backs off:
N failures per window, 2N per 4 windows, 4N per 16 windows. Counters live in Redis when
REDIS_URL is set, else in the database (`attempts.py`): every worker and replica shares them.
The throttle never fails open: while its counters cannot be read, sign-in answers 503.
"""

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many

from todo_api.accounts.attempts import (
    AttemptCounts,
    Counter,
    DatabaseAttempts,
    RedisAttempts,
)
from todo_api.accounts.errors import TooManyAttempts, TooManyLinks, TooManySignUps
from todo_api.core.config import Settings
from todo_api.core.database import Database
from todo_api.core.errors import ServiceUnavailable, TooManyRequests

logger = logging.getLogger(__name__)

# Verification links one account may be sent.
LINKS_PER_ACCOUNT = "3/hour"
# Each rung: (failures times this, window times that).
_BACKOFF = ((1, 1), (2, 4), (4, 16))


def _ladder(failures: int, window_seconds: float) -> list[RateLimitItem]:
    window = max(1, math.ceil(window_seconds))
    return [RateLimitItemPerSecond(failures * more, window * longer) for more, longer in _BACKOFF]


class LoginThrottle:
    """The failure counters of sign-in (and of sign-ups that hit a taken email)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        window = settings.login_failure_window_seconds
        self._per_pair = _ladder(settings.login_max_failures_per_account, window)
        self._per_ip = _ladder(settings.login_max_failures_per_ip, window)
        self._sign_ups = (
            parse_many(settings.sign_up_rate_limit) if settings.sign_up_rate_limit else []
        )
        self._links = parse_many(LINKS_PER_ACCOUNT)
        self._counts: AttemptCounts
        if settings.redis_url is not None:
            self._counts = RedisAttempts(settings)
        else:
            items = [*self._per_pair, *self._per_ip, *self._sign_ups, *self._links]
            longest = max((item.get_expiry() for item in items), default=0)
            self._counts = DatabaseAttempts(db, timedelta(seconds=longest))
        self._last_error_logged = -math.inf

    def _counters(self, email: str | None, ip: str) -> list[Counter]:
        counters: list[Counter] = [(item, ("ip", ip)) for item in self._per_ip]
        if email is not None:
            counters += [(item, ("account", email, ip)) for item in self._per_pair]
        return counters

    async def check(self, email: str | None, ip: str) -> None:
        """TooManyAttempts if this account from this address (when given), or this address, is
        throttled; the password is then not even checked."""
        await self._refuse_if_over(self._counters(email, ip), TooManyAttempts)

    async def failed(self, email: str | None, ip: str) -> None:
        """Count one failure against the account from this address and against the address."""
        try:
            await self._counts.hit(self._counters(email, ip))
        except Exception as error:
            self._storage_failed(error)

    async def succeeded(self, email: str, ip: str) -> None:
        """Forget the account's failures from this address (the address's stay counted)."""
        try:
            await self._counts.clear([(item, ("account", email, ip)) for item in self._per_pair])
        except Exception as error:
            self._storage_failed(error)

    async def check_sign_up(self, ip: str) -> None:
        """TooManySignUps once this address has made SIGN_UP_RATE_LIMIT accounts."""
        await self._refuse_if_over(
            [(item, ("sign-up", ip)) for item in self._sign_ups], TooManySignUps
        )

    async def signed_up(self, ip: str) -> None:
        """Count an account made from this address."""
        try:
            await self._counts.hit([(item, ("sign-up", ip)) for item in self._sign_ups])
        except Exception as error:
            self._storage_failed(error)

    async def check_link(self, user_id: str) -> None:
        """TooManyLinks once this account has been sent LINKS_PER_ACCOUNT verification links:
        each goes to an address nobody has proven is theirs."""
        await self._refuse_if_over(
            [(item, ("link", user_id)) for item in self._links], TooManyLinks
        )

    async def link_sent(self, user_id: str) -> None:
        """Count a verification link sent for this account."""
        try:
            await self._counts.hit([(item, ("link", user_id)) for item in self._links])
        except Exception as error:
            self._storage_failed(error)

    async def _refuse_if_over(
        self, counters: list[Counter], error: Callable[[int], TooManyRequests]
    ) -> None:
        if not counters:
            return
        try:
            retry_after = await self._counts.retry_after(counters)
        except Exception as failure:
            # Never open: a guess the throttle cannot count is not let through.
            self._storage_failed(failure)
            raise ServiceUnavailable(
                "Signing in is unavailable right now; try again shortly"
            ) from None
        if retry_after > 0:
            raise error(max(1, math.ceil(retry_after)))

    def _storage_failed(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_error_logged > 60:
            self._last_error_logged = now
            logger.warning("The sign-in throttle's counters fail: %r", error)
