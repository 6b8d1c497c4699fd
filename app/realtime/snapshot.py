"""The websocket's first message, assembled from the snapshot parts.

Each domain contributes its part of the snapshot as a plain function of the context:

    async def flash_sales_part(ctx: SnapshotContext) -> object:
        return [...]  # JSON-ready (orjson: datetimes, Decimals as str are fine)

and app/services/snapshot_parts.py lists every part with the audiences that see it, in
one table; the lifespan attaches that table to `live.workers.snapshot_parts` at start-up
(nothing registers itself at import time). `roles=None` means every staff role;
`"viewer"` in roles means the watch page too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import TypeAdapter
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


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def as_response(model: Any, value: Any) -> Any:
    """`value` as the JSON a route declared with `response_model=model` answers (validated
    and dumped the way FastAPI does it). A part the consoles also fetch over REST is built
    with this and the route's own model and service function, so the console can seed that
    query's cache with the part instead of refetching it, and the two cannot drift."""
    adapter = _adapter(model)
    return adapter.dump_python(
        adapter.validate_python(value, from_attributes=True), mode="json", by_alias=True
    )


@dataclass(frozen=True)
class SnapshotPart:
    name: str  # the snapshot's key
    build: Contributor
    roles: frozenset[str]  # the audiences that get it


def part(
    name: str, build: Contributor, roles: set[str] | frozenset[str] | None = None
) -> SnapshotPart:
    """`build(ctx)` fills `snapshot[name]` for the given audiences (admins see what any
    staff role sees)."""
    allowed = frozenset(roles) if roles is not None else STAFF_ROLES
    return SnapshotPart(name, build, allowed | ({"admin"} if allowed & STAFF_ROLES else set()))


async def build_snapshot(ctx: SnapshotContext, seq: int, epoch: str = "") -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "type": "snapshot",
        "epoch": epoch,
        "seq": seq,
        "audience": ctx.audience,
    }
    for p in ctx.live.workers.snapshot_parts:
        if ctx.audience in p.roles:
            snapshot[p.name] = await p.build(ctx)
    return snapshot
