"""Fixed-window rate limits (issue #19): viewer tokens per client address, comments per
viewer. Counters live in Redis when configured (shared by every instance), else in
process. A request over the limit is refused with 429 and `Retry-After` and changes
nothing."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

import redis.asyncio as aioredis

from app.errors import TooManyRequests

MEMORY_KEYS = 100_000

# KEYS[1] the window's counter; ARGV[1] window (ms). Returns {count, ms left}.
_HIT_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RateLimiter:
    def __init__(self, redis: aioredis.Redis | None, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_HIT_LUA) if redis is not None else None
        self._memory: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def hit(self, name: str, who: str, limit: int, window: float = 60.0) -> int:
        """Count one request of `who` against `name`'s limit: 0 when allowed, else the
        seconds until the window ends."""
        if limit <= 0:
            return 0
        key = f"{self.prefix}rate:{name}:{who}"
        if self._script is not None:
            count, ttl_ms = await self._script(keys=[key], args=[int(window * 1000)])
            left = int(ttl_ms) / 1000
        else:
            now = time.monotonic()
            count, ends = self._memory.pop(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + window
            count += 1
            self._memory[key] = (count, ends)
            while len(self._memory) > MEMORY_KEYS:
                self._memory.popitem(last=False)
            left = ends - now
        if int(count) > limit:
            return max(1, math.ceil(left))
        return 0

    async def check(self, name: str, who: str, limit: int, what: str) -> None:
        """`hit`, raising 429 `rate_limited` with `Retry-After` when over the limit."""
        wait = await self.hit(name, who, limit)
        if wait:
            raise TooManyRequests(
                f"too many {what}; try again in {wait} s", code="rate_limited", retry_after=wait
            )
