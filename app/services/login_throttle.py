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

State is the `Limits` port (app/realtime/ports.py): in Redis when configured (shared by
every instance), else in process.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from app.config import Settings
from app.realtime.ports import Limits


@dataclass(frozen=True)
class Keys:
    pair: str  # (username, address)
    address: str


class LoginThrottle:
    def __init__(self, settings: Settings, limits: Limits, prefix: str) -> None:
        self.settings = settings
        self.limits = limits
        self.prefix = prefix

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
        untils = [await self.limits.blocked_until(key) for key in (keys.pair, keys.address)]
        wait = max(untils) - now
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, keys: Keys) -> None:
        s = self.settings
        for key, free in (
            (keys.pair, s.login_max_failures),
            (keys.address, s.login_address_max_failures),
        ):
            await self.limits.miss(
                key,
                time.time(),
                free,
                s.login_delay_base_seconds,
                s.login_max_delay_seconds,
                self._ttl,
            )

    async def succeeded(self, keys: Keys) -> None:
        await self.limits.forget(keys.pair)
