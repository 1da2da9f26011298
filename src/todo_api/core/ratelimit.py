"""Rate limits per user and per client address, counted by the `limits` package.

Counters live in process memory, or in Redis when REDIS_URL is set so that every replica and
worker shares one count. Fixed windows: one increment per request and limit, the cheapest
strategy `limits` has (a burst of up to twice the limit can straddle a window boundary).
If Redis fails, requests are let through and the failure is logged: an outage of the limiter
must not become an outage of the API.
"""

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from todo_api.core.config import Settings
from todo_api.core.errors import TooManyRequests

logger = logging.getLogger(__name__)

# Log a failing limiter storage at most this often.
_ERROR_LOG_INTERVAL_SECONDS = 60.0


def limit_storage(settings: Settings, name: str = "") -> Storage:
    """Where counters live: Redis when REDIS_URL is set, else this process's memory.

    `name` keeps the keys of one kind of counter apart from the others' in Redis.
    """
    if settings.redis_url is None:
        return MemoryStorage()
    url = settings.redis_url.get_secret_value()
    prefix = settings.rate_limit_key_prefix + (f":{name}" if name else "")
    # `limits` picks its asyncio Redis client from the `async+` scheme.
    return RedisStorage(f"async+{url}", key_prefix=prefix)


class RateLimiter:
    """The configured per-user and per-address limits and the storage counting them."""

    def __init__(self, settings: Settings) -> None:
        enabled = settings.rate_limit_enabled
        self.per_user: list[RateLimitItem] = (
            parse_many(settings.rate_limit_per_user)
            if enabled and settings.rate_limit_per_user
            else []
        )
        self.per_ip: list[RateLimitItem] = (
            parse_many(settings.rate_limit_per_ip) if enabled and settings.rate_limit_per_ip else []
        )
        self._strategy = FixedWindowRateLimiter(limit_storage(settings))
        self._last_error_logged = -math.inf

    async def hit_user(self, user_id: str) -> int | None:
        """Count a request by this user: None if allowed, else seconds until it would be."""
        return await self._hit(self.per_user, "user", user_id)

    async def hit_ip(self, address: str) -> int | None:
        """Count a request from this address: None if allowed, else seconds until it would be."""
        return await self._hit(self.per_ip, "ip", address)

    async def _hit(self, items: list[RateLimitItem], kind: str, key: str) -> int | None:
        if not items:
            return None
        try:
            for item in items:
                if not await self._strategy.hit(item, kind, key):
                    stats = await self._strategy.get_window_stats(item, kind, key)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception as error:
            now = time.monotonic()
            if now - self._last_error_logged > _ERROR_LOG_INTERVAL_SECONDS:
                self._last_error_logged = now
                logger.warning("Rate limiting is off while its storage fails: %r", error)
        return None

    async def check_user(self, user_id: str) -> None:
        """Count a request by this user; 429 with Retry-After once they go over their limit."""
        if not self.per_user:
            return
        retry_after = await self.hit_user(user_id)
        if retry_after is not None:
            raise TooManyRequests(
                f"Too many requests for this user; retry in {retry_after} s", retry_after
            )
