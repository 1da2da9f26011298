"""Sign-in throttling and the sign-up limit, counted by the `limits` package.

Failed sign-ins are counted per account-and-address and per address. An attacker guessing one
account's password from their address locks only themselves out: the owner, from theirs,
still signs in. Each limit is a ladder of moving windows, so guessing that goes on backs off:
N failures per window, 2N per 4 windows, 4N per 16 windows. Counters live in Redis when
REDIS_URL is set (every worker and replica shares them), else in process memory; if Redis
fails, sign-ins are let through and the failure logged, as for the rate limits.
"""

import logging
import math
import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.aio.strategies import MovingWindowRateLimiter

from todo_api.accounts.errors import TooManyAttempts, TooManySignUps
from todo_api.core.config import Settings
from todo_api.core.errors import TooManyRequests
from todo_api.core.ratelimit import limit_storage

logger = logging.getLogger(__name__)

# Each rung: (failures times this, window times that).
_BACKOFF = ((1, 1), (2, 4), (4, 16))


def _ladder(failures: int, window_seconds: float) -> list[RateLimitItem]:
    window = max(1, math.ceil(window_seconds))
    return [RateLimitItemPerSecond(failures * more, window * longer) for more, longer in _BACKOFF]


class LoginThrottle:
    """The failure counters of sign-in (and of sign-ups that hit a taken email)."""

    def __init__(self, settings: Settings) -> None:
        window = settings.login_failure_window_seconds
        self._per_pair = _ladder(settings.login_max_failures_per_account, window)
        self._per_ip = _ladder(settings.login_max_failures_per_ip, window)
        self._sign_ups = (
            parse_many(settings.sign_up_rate_limit) if settings.sign_up_rate_limit else []
        )
        self._strategy = MovingWindowRateLimiter(limit_storage(settings, "login"))
        self._last_error_logged = -math.inf

    def _counters(self, email: str | None, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        counters: list[tuple[RateLimitItem, tuple[str, ...]]] = [
            (item, ("ip", ip)) for item in self._per_ip
        ]
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
            for item, key in self._counters(email, ip):
                await self._strategy.hit(item, *key)
        except Exception as error:
            self._storage_failed(error)

    async def succeeded(self, email: str, ip: str) -> None:
        """Forget the account's failures from this address (the address's stay counted)."""
        try:
            for item in self._per_pair:
                await self._strategy.clear(item, "account", email, ip)
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
            for item in self._sign_ups:
                await self._strategy.hit(item, "sign-up", ip)
        except Exception as error:
            self._storage_failed(error)

    async def _refuse_if_over(
        self,
        counters: list[tuple[RateLimitItem, tuple[str, ...]]],
        error: Callable[[int], TooManyRequests],
    ) -> None:
        retry_after = 0.0
        try:
            for item, key in counters:
                if not await self._strategy.test(item, *key):
                    stats = await self._strategy.get_window_stats(item, *key)
                    retry_after = max(retry_after, stats.reset_time - time.time())
        except Exception as failure:
            self._storage_failed(failure)
            return
        if retry_after:
            raise error(max(1, math.ceil(retry_after)))

    def _storage_failed(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_error_logged > 60:
            self._last_error_logged = now
            logger.warning("Sign-in throttling is off while its storage fails: %r", error)
