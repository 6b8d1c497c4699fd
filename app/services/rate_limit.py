"""Fixed-window rate limits (issue #19): viewer tokens per client address, comments per
viewer. The counters are the `Limits` port (app/realtime/ports.py): in Redis when
configured (shared by every instance), else in process. A request over the limit is
refused with 429 and `Retry-After` and changes nothing."""

from __future__ import annotations

import math

from app.errors import TooManyRequests
from app.realtime.ports import Limits


class RateLimiter:
    def __init__(self, limits: Limits, prefix: str) -> None:
        self.limits = limits
        self.prefix = prefix

    async def hit(self, name: str, who: str, limit: int, window: float = 60.0) -> int:
        """Count one request of `who` against `name`'s limit: 0 when allowed, else the
        seconds until the window ends."""
        if limit <= 0:
            return 0
        key = f"{self.prefix}rate:{name}:{who}"
        count, left = await self.limits.hit(key, int(window * 1000))
        if count > limit:
            return max(1, math.ceil(left))
        return 0

    async def check(self, name: str, who: str, limit: int, what: str) -> None:
        """`hit`, raising 429 `rate_limited` with `Retry-After` when over the limit."""
        wait = await self.hit(name, who, limit)
        if wait:
            raise TooManyRequests(
                f"too many {what}; try again in {wait} s", code="rate_limited", retry_after=wait
            )
