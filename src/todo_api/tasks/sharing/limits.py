"""How many invitations one user may accept (INVITATION_ACCEPT_RATE_LIMIT): guessing tokens is
hopeless (256 random bits), but accepting is still a write that adds a reader to a list."""

from limits import parse_many
from limits.aio.strategies import FixedWindowRateLimiter

from todo_api.core.config import Settings
from todo_api.core.errors import TooManyRequests
from todo_api.core.ratelimit import limit_storage


class AcceptLimiter:
    """Counts each user's accepts, in Redis when REDIS_URL is set (else in memory)."""

    def __init__(self, settings: Settings) -> None:
        spec = settings.invitation_accept_rate_limit
        self._items = parse_many(spec) if spec and settings.rate_limit_enabled else []
        self._strategy = FixedWindowRateLimiter(limit_storage(settings, "invitations"))

    async def hit(self, user_id: str) -> None:
        """Count an accept by the user; TooManyRequests past the limit."""
        for item in self._items:
            if not await self._strategy.hit(item, "accept", user_id):
                raise TooManyRequests("Too many invitations accepted; try again later", 60)
