"""The team's time zone (`TEAM_TIMEZONE`, default Asia/Shanghai).

The database and the event log keep UTC; what people read in the team's own hours —
per-minute series (the review's and the live charts') and CSV / XLSX exports — is given
in this zone with its offset: `2026-12-05T20:01:00+08:00`, the same instant as
`2026-12-05T12:01:00Z`, so API clients lose nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.config import get_settings


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def team_zone() -> ZoneInfo:
    return _zone(get_settings().team_timezone)


def local(value: datetime) -> datetime:
    """`value` in the team's zone (a naive value is taken as UTC, as stored)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(team_zone())


def local_iso(value: datetime) -> str:
    """RFC 3339 in the team's zone to the second, e.g. `2026-12-05T20:01:00+08:00`."""
    return local(value).replace(microsecond=0).isoformat()
