"""The websocket's first message, assembled from registered contributors.

Each domain adds its part of the snapshot without touching the websocket code:

    from app.realtime.snapshot import SnapshotContext, snapshot_contributor

    @snapshot_contributor("flash_sales", roles={"controller", "host"})
    async def _flash_sales(ctx: SnapshotContext) -> object:
        return [...]  # JSON-ready (orjson: datetimes, Decimals as str are fine)

Register at import time of your service module, and make sure that module is
imported by the app (routers import their services, so that is usually automatic).
`roles=None` means every staff role; `"viewer"` in roles means the watch page too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Stream
from app.realtime.state import Live

STAFF_ROLES = frozenset({"admin", "host", "controller", "service", "analyst"})


@dataclass
class SnapshotContext:
    session: AsyncSession  # short-lived: closed before the websocket starts streaming
    live: Live
    stream: Stream
    audience: str  # the user's role on the stream, or "viewer"
    user_id: int | None = None
    viewer_id: str | None = None


Contributor = Callable[[SnapshotContext], Awaitable[Any]]
_CONTRIBUTORS: dict[str, tuple[Contributor, frozenset[str]]] = {}


def snapshot_contributor(
    name: str, roles: set[str] | frozenset[str] | None = None
) -> Callable[[Contributor], Contributor]:
    """Register `fn(ctx)` to fill `snapshot[name]` for the given audiences."""
    allowed = frozenset(roles) if roles is not None else STAFF_ROLES

    def _register(fn: Contributor) -> Contributor:
        _CONTRIBUTORS[name] = (fn, allowed | ({"admin"} if allowed & STAFF_ROLES else set()))
        return fn

    return _register


async def build_snapshot(ctx: SnapshotContext, seq: int, epoch: str = "") -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "type": "snapshot",
        "epoch": epoch,
        "seq": seq,
        "audience": ctx.audience,
    }
    for name, (fn, allowed) in _CONTRIBUTORS.items():
        if ctx.audience in allowed:
            snapshot[name] = await fn(ctx)
    return snapshot
