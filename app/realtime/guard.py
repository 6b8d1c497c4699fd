"""Sockets that never authenticate must not exhaust the server (issue 15, point 5).

Per client address (the ASGI `client`, i.e. the proxy's address unless uvicorn is told
to trust forwarded headers): at most `MAX_UNAUTHENTICATED_PER_IP` sockets may be in
their check (token, user, stream) at once, and an address whose opens failed
(4401/4403, handshake timeout) `MAX_FAILED_UPGRADES_PER_IP` times within
`FAILED_UPGRADE_WINDOW_SECONDS` is refused at the upgrade until the window has moved on.
A refusal happens before the websocket is accepted (uvicorn answers HTTP 403) and costs
no database work. The check itself must finish within `HANDSHAKE_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from app.realtime.protocol import (
    FAILED_UPGRADE_WINDOW_SECONDS,
    MAX_FAILED_UPGRADES_PER_IP,
    MAX_UNAUTHENTICATED_PER_IP,
)


class UpgradeGuard:
    def __init__(
        self,
        max_pending: int = MAX_UNAUTHENTICATED_PER_IP,
        max_failures: int = MAX_FAILED_UPGRADES_PER_IP,
        window: float = FAILED_UPGRADE_WINDOW_SECONDS,
    ) -> None:
        self.max_pending = max_pending
        self.max_failures = max_failures
        self.window = window
        self.pending: defaultdict[str, int] = defaultdict(int)
        self.failures: dict[str, deque[float]] = {}
        self.refused = 0

    def _recent_failures(self, ip: str, now: float) -> int:
        q = self.failures.get(ip)
        if q is None:
            return 0
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self.failures[ip]
            return 0
        return len(q)

    def admit(self, ip: str, signed: bool) -> bool:
        """May `ip` open one more socket now? If so it counts as pending until
        `done(ip, ok)`. A socket whose token carries a valid signature (`signed`: checked
        without the database) is not held to the pending cap, so a reconnect storm of
        real consoles behind one address is never refused; failures count for all."""
        now = time.monotonic()
        if (not signed and self.pending[ip] >= self.max_pending) or self._recent_failures(
            ip, now
        ) >= self.max_failures:
            self.refused += 1
            if not self.pending[ip]:
                del self.pending[ip]
            return False
        self.pending[ip] += 1
        return True

    def done(self, ip: str, ok: bool) -> None:
        """The socket of `ip` finished its check: authenticated (`ok`) or refused."""
        left = self.pending[ip] - 1
        if left > 0:
            self.pending[ip] = left
        else:
            self.pending.pop(ip, None)
        if not ok:
            self.failures.setdefault(ip, deque()).append(time.monotonic())
