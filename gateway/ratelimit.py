"""Per-client rate limits with the `limits` library (moving window; memory or a shared store such as Redis)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from gateway.errors import RateLimited


@dataclass(frozen=True)
class Quota:
    """What is left of the tightest limit after this request, for the X-RateLimit-* headers."""

    limit: int
    remaining: int

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}


class RateLimiter:
    def __init__(self, storage_uri: str) -> None:
        # The gateway is async: use the async flavour of whichever store the operator named.
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self.storage = storage_from_string(uri)
        self.strategy = MovingWindowRateLimiter(self.storage)

    @staticmethod
    def parse(limits: str) -> list[RateLimitItem]:
        return parse_many(limits)

    async def admit(self, items: list[RateLimitItem], *key: str) -> Quota:
        """Count one request against every limit, or raise :class:`RateLimited` if any is spent."""
        for item in items:
            if not await self.strategy.test(item, *key):
                stats = await self.strategy.get_window_stats(item, *key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(retry_after, Quota(item.amount, 0).headers())
        quotas = []
        for item in items:
            await self.strategy.hit(item, *key)
            stats = await self.strategy.get_window_stats(item, *key)
            quotas.append(Quota(item.amount, max(0, stats.remaining)))
        return min(quotas, key=lambda q: q.remaining)
