"""Login throttling that a stranger cannot turn into a lockout.

Wrong passwords are counted per (username, client address) and per client address,
never per account alone: someone who guesses at an account from their address slows
down themselves, not the account's owner signing in from elsewhere. After
`LOGIN_MAX_FAILURES` misses of one username from one address (or
`LOGIN_ADDRESS_MAX_FAILURES` misses of any usernames from one address) each further
miss doubles a waiting time, 1 s, 2 s, 4 s … up to `LOGIN_MAX_DELAY_SECONDS`; attempts
inside the wait answer 429 with `Retry-After` (the password is not even checked). The
keys do not depend on whether the username exists, so the answers do not either. A
success clears its (username, address) count; the counts fade after
`LOGIN_FAILURE_WINDOW_SECONDS` without misses.

State lives in Redis when configured (shared by every instance), else in process.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis.asyncio as aioredis

from app.config import Settings

MEMORY_KEYS = 100_000

# KEYS[1] the counter hash; ARGV: now, free misses, base delay, max delay, ttl (s).
# Returns the blocked-until time as a string (0 when not blocked).
_FAIL_LUA = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free = tonumber(ARGV[2])
local untl = 0
if n > free then
  local delay = tonumber(ARGV[3]) * (2 ^ (n - free - 1))
  if delay > tonumber(ARGV[4]) then delay = tonumber(ARGV[4]) end
  untl = tonumber(ARGV[1]) + delay
  redis.call('HSET', KEYS[1], 'until', tostring(untl))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(untl)
"""


@dataclass(frozen=True)
class Keys:
    pair: str  # (username, address)
    address: str


class LoginThrottle:
    def __init__(self, settings: Settings, redis: aioredis.Redis | None, prefix: str) -> None:
        self.settings = settings
        self.redis = redis
        self.prefix = prefix
        self._memory: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        self._fail_script = redis.register_script(_FAIL_LUA) if redis is not None else None

    def keys(self, username: str, address: str) -> Keys:
        who = hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()[:32]
        where = hashlib.sha256(address.encode()).hexdigest()[:32]
        return Keys(f"{self.prefix}login:pair:{who}", f"{self.prefix}login:addr:{where}")

    @property
    def _ttl(self) -> int:
        return max(
            int(self.settings.login_failure_window_seconds),
            int(self.settings.login_max_delay_seconds) + 1,
        )

    async def retry_after(self, keys: Keys) -> int:
        """Seconds until a login from here for this username is checked again (0: now)."""
        now = time.time()
        untils: list[float] = []
        for key in (keys.pair, keys.address):
            if self.redis is not None:
                raw = await self.redis.hget(key, "until")
                untils.append(float(raw) if raw else 0.0)
            else:
                entry = self._memory.get(key)
                untils.append(entry[1] if entry is not None and entry[2] > now else 0.0)
        wait = max(untils) - now
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, keys: Keys) -> None:
        s = self.settings
        for key, free in (
            (keys.pair, s.login_max_failures),
            (keys.address, s.login_address_max_failures),
        ):
            args = (time.time(), free, s.login_delay_base_seconds, s.login_max_delay_seconds)
            if self._fail_script is not None:
                await self._fail_script(keys=[key], args=[*args, self._ttl])
            else:
                self._fail_memory(key, *args)

    def _fail_memory(self, key: str, now: float, free: int, base: float, cap: float) -> None:
        count, until, expires = self._memory.pop(key, (0, 0.0, 0.0))
        if expires <= now:
            count, until = 0, 0.0
        count += 1
        if count > free:
            until = now + min(base * 2 ** min(count - free - 1, 40), cap)
        self._memory[key] = (count, until, now + self._ttl)
        while len(self._memory) > MEMORY_KEYS:
            self._memory.popitem(last=False)

    async def succeeded(self, keys: Keys) -> None:
        if self.redis is not None:
            await self.redis.delete(keys.pair)
        else:
            self._memory.pop(keys.pair, None)
