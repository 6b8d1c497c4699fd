"""The review report (复盘报告), computed from persisted data.

Reads only rollups kept as the stream runs (`stream_viewers`, `stream_minutes` from the
event log writer; `stream_product_minutes`, `stream_presence`, `stream_viewer_presence`,
`stream_online_minutes` from app/services/rollups.py) plus the planning and control
tables, so a stream of a million events is reviewed from a few thousand rows. Every
formula is in app/services/metric_dictionary.py and docs/metrics.md.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db import utcnow
from app.domain.effects import COUNTS
from app.models import (
    Alert,
    Comment,
    ControlAction,
    Incident,
    ItemStatus,
    LineupItem,
    Product,
    QueueItem,
    ScriptSegment,
    Stream,
    StreamStatus,
)
from app.models.events import StreamMinute, StreamViewer
from app.models.rollups import (
    StreamOnlineMinute,
    StreamPresence,
    StreamProductMinute,
    StreamProductSecond,
    StreamSecond,
    StreamViewerPresence,
)
from app.realtime.ports import CommentCounts
from app.schemas.common import format_money
from app.services import projection, text_learning
from app.services.review_meeting import offset_seconds, team_stream_ids
from app.services.rollups import (
    PRODUCT_SUMS,
    SECOND_SUMS,
    WINDOW_SUMS,
    elapsed_ms,
    minute_of,
    second_of,
)
from app.teamtime import local

ZERO = Decimal("0")
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
MINUTE = timedelta(minutes=1)
MAX_SERIES_MINUTES = 24 * 60

# The counts the review shows per minute and in the headline (joins are its entries).
MINUTE_COUNTS = (*(c for c in COUNTS if c not in ("joins", "leaves")), "units_sold")
SOURCES = ("feed", "short_video", "follow", "search", "private", "ads", "other", "unknown")

# Diagnosis thresholds (documented in docs/metrics.md).
CART_MIN = 10  # add_to_cart events before "carts high, payment low" can fire
CART_TO_PAID_MAX = Decimal("0.3")
NEW_VIEWERS_MIN = 10
EARLY_LEAVE_SECONDS = 60
EARLY_LEAVE_SHARE = Decimal("0.5")
CLICKS_MIN = 10
CLICK_TO_ORDER_MAX = Decimal("0.02")
REFUND_PAID_MIN = 3
REFUND_RATE_MAX = Decimal("0.2")
ONLINE_MIN = 10
ONLINE_DROP = Decimal("0.3")
COMPARE_LAST = 5


def money(value: Decimal) -> str:
    return format_money(value)


def ratio(num: Decimal | int, den: Decimal | int) -> float:
    """num ÷ den rounded half-up to 4 places; 0 when den is 0."""
    if not den:
        return 0.0
    return float((Decimal(num) / Decimal(den)).quantize(RATIO, rounding=ROUND_HALF_UP))


def div_money(num: Decimal, den: Decimal | int) -> Decimal:
    if not den:
        return ZERO.quantize(CENT)
    return (Decimal(num) / Decimal(den)).quantize(CENT, rounding=ROUND_HALF_UP)


def round2(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def review_until(stream: Stream, now: datetime | None = None) -> datetime:
    """Where open sessions end: the stream's end, or now while it runs."""
    return stream.ended_at or now or utcnow()


# ----------------------------------------------------------------------------- headline


@dataclass(slots=True)
class Headline:
    """The stream-level figures (everything but the lists)."""

    viewers: int = 0
    entries: int = 0
    peak_online: int = 0
    peak_at: datetime | None = None
    online_now: int = 0
    total_watch_ms: int = 0
    interacting_viewers: int = 0
    new_followers: int = 0
    paying_customers: int = 0
    clicking_viewers: int = 0
    carting_viewers: int = 0
    ordering_viewers: int = 0
    duration_seconds: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MINUTE_COUNTS, 0))
    sources: dict[str, int] = field(default_factory=dict)
    gmv: Decimal = ZERO
    refunds: Decimal = ZERO

    def figures(self) -> dict[str, Any]:
        c = self.counts
        watch = Decimal(self.total_watch_ms) / 1000
        avg_online = round2(watch / self.duration_seconds) if self.duration_seconds else 0.0
        return {
            "viewers": self.viewers,
            "entries": self.entries,
            "peak_online": self.peak_online,
            "peak_online_at": self.peak_at,
            "online_at_end": self.online_now,
            "avg_online": avg_online,
            "total_watch_seconds": round2(watch),
            "avg_watch_seconds": round2(watch / self.viewers) if self.viewers else 0.0,
            "comments": c["comments"],
            "likes": c["likes"],
            "shares": c["shares"],
            "follows": c["follows"],
            "new_followers": self.new_followers,
            "interacting_viewers": self.interacting_viewers,
            "interaction_rate": ratio(self.interacting_viewers, self.viewers),
            "follower_conversion_rate": ratio(self.new_followers, self.viewers),
            "product_clicks": c["product_clicks"],
            "add_to_cart": c["add_to_cart"],
            "orders": c["orders"],
            "paid_orders": c["paid_orders"],
            "cancelled_orders": c["cancelled_orders"],
            "refunded_orders": c["refunded_orders"],
            "units_sold": c["units_sold"],
            "gmv": money(self.gmv),
            "refunds": money(self.refunds),
            "net_gmv": money(self.gmv - self.refunds),
            "paying_customers": self.paying_customers,
            "aov": money(div_money(self.gmv, self.paying_customers)),
            "gpm": money(div_money(self.gmv * 1000, self.viewers)),
            "conversion_rate": ratio(self.paying_customers, self.viewers),
            "refund_rate": ratio(self.refunds, self.gmv),
            "refund_order_rate": ratio(c["refunded_orders"], c["paid_orders"]),
            "payment_rate": ratio(c["paid_orders"], c["orders"]),
        }

    def funnel(self) -> list[dict[str, Any]]:
        c = self.counts
        steps = [
            ("viewers", self.viewers, self.viewers),
            ("product_clicks", c["product_clicks"], self.clicking_viewers),
            ("add_to_cart", c["add_to_cart"], self.carting_viewers),
            ("orders", c["orders"], self.ordering_viewers),
            ("paid_orders", c["paid_orders"], self.paying_customers),
        ]
        out: list[dict[str, Any]] = []
        previous: int | None = None
        for step, count, viewers in steps:
            out.append(
                {
                    "step": step,
                    "count": count,
                    "viewers": viewers,
                    "rate": None if previous is None else ratio(count, previous),
                }
            )
            previous = count
        return out


def _flag(column: Any) -> Any:
    return func.count().filter(column > 0)


async def _viewer_figures(session: AsyncSession, stream_id: int, h: Headline) -> None:
    """One pass over the stream's viewers: the distinct-viewer figures per source."""
    v = StreamViewer
    rows = await session.execute(
        select(
            v.source,
            func.count(),
            _flag(v.comments + v.likes + v.shares),
            _flag(v.follows),
            _flag(v.paid_orders),
            _flag(v.product_clicks),
            _flag(v.add_to_cart),
            _flag(v.orders),
        )
        .where(v.stream_id == stream_id)
        .group_by(v.source)
    )
    for source, *counts in rows:
        key = str(source) if source else "unknown"
        n, interacting, followers, paying, clicking, carting, ordering = (int(x) for x in counts)
        h.sources[key] = h.sources.get(key, 0) + n
        h.viewers += n
        h.interacting_viewers += interacting
        h.new_followers += followers
        h.paying_customers += paying
        h.clicking_viewers += clicking
        h.carting_viewers += carting
        h.ordering_viewers += ordering


async def _minute_rows(session: AsyncSession, stream_id: int) -> list[Any]:
    return list(
        (
            await session.execute(
                select(StreamMinute)
                .where(StreamMinute.stream_id == stream_id)
                .order_by(StreamMinute.minute)
            )
        ).scalars()
    )


def _fold_minutes(rows: Sequence[Any], h: Headline) -> None:
    for r in rows:
        h.entries += r.joins
        for c in MINUTE_COUNTS:
            h.counts[c] += getattr(r, c)
        h.gmv += r.gmv
        h.refunds += r.refunds


async def _presence(session: AsyncSession, stream: Stream, h: Headline, until: datetime) -> None:
    pres = await session.get(StreamPresence, stream.id)
    if pres is None:
        return
    h.peak_online, h.peak_at, h.online_now = pres.peak_online, pres.peak_at, pres.online
    h.total_watch_ms = int(pres.watch_ms) + await _open_watch_ms(session, stream.id, until)


def _ms_since(column: Any, until: datetime) -> Any:
    """SQL (PostgreSQL): whole milliseconds from `column` to `until`, as elapsed_ms."""
    return func.floor(func.extract("epoch", until - column) * 1000)


async def _open_watch_ms(
    session: AsyncSession, stream_id: int, until: datetime, viewer_ids: Any = None
) -> int:
    """Watch time of sessions still open, closed at `until`."""
    p = StreamViewerPresence
    where = [p.stream_id == stream_id, p.present_since.is_not(None)]
    if viewer_ids is not None:
        where.append(p.viewer_id.in_(viewer_ids))
    if session.get_bind().dialect.name == "postgresql":
        total = await session.scalar(
            select(
                func.coalesce(
                    func.sum(func.greatest(_ms_since(p.present_since, until), 0)),
                    0,
                )
            ).where(*where)
        )
        return int(total or 0)
    rows = await session.scalars(select(p.present_since).where(*where))
    return sum(elapsed_ms(since, until) for since in rows if since)


async def headline(
    session: AsyncSession, stream: Stream, now: datetime | None = None
) -> tuple[Headline, list[Any]]:
    until = review_until(stream, now)
    h = Headline()
    if stream.started_at is not None:
        h.duration_seconds = max(0, int((until - stream.started_at).total_seconds()))
    await _viewer_figures(session, stream.id, h)
    minutes = await _minute_rows(session, stream.id)
    _fold_minutes(minutes, h)
    await _presence(session, stream, h, until)
    return h, minutes


# ----------------------------------------------------------------------------- audience


async def live_audience(
    session: AsyncSession, stream: Stream, now: datetime | None = None
) -> dict[str, Any]:
    """Traffic sources and average stay, for the control console while the stream runs:
    the review's own figures (same rollups, same definitions), without the rest of the
    report. Open sessions count up to `now` (or the stream's end)."""
    until = review_until(stream, now)
    h = Headline()
    await _viewer_figures(session, stream.id, h)
    await _presence(session, stream, h, until)
    fig = h.figures()
    return {
        "stream_id": stream.id,
        "viewers": h.viewers,
        "avg_watch_seconds": fig["avg_watch_seconds"],
        "sources": traffic_sources(h),
    }


def traffic_sources(h: Headline) -> list[dict[str, Any]]:
    counts = h.sources
    return [
        {"source": src, "viewers": counts[src], "share": ratio(counts[src], h.viewers)}
        for src in sorted(counts, key=lambda s: (-counts[s], _source_rank(s)))
    ]


def _source_rank(source: str) -> int:
    return SOURCES.index(source) if source in SOURCES else len(SOURCES)


async def earlier_stream_ids(session: AsyncSession, stream: Stream, until: datetime) -> list[int]:
    """Streams (of any team) that started before this one: "returning" looks there."""
    started = stream.started_at or until
    rows = await session.scalars(
        select(Stream.id).where(
            Stream.id != stream.id,
            Stream.started_at.is_not(None),
            Stream.started_at < started,
            Stream.is_rehearsal.is_(False),  # a rehearsal's (replayed) viewers are not history
        )
    )
    return list(rows)


def seen_before(viewer_id: Any, earlier: list[int]) -> Any:
    """EXISTS: the viewer is in the log of one of the `earlier` streams."""
    other = aliased(StreamViewer)
    return exists(
        select(1)
        .select_from(other)
        .where(other.viewer_id == viewer_id, other.stream_id.in_(earlier))
    )


async def returning_viewers(session: AsyncSession, stream_id: int, earlier: list[int]) -> int:
    if not earlier:
        return 0
    n = await session.scalar(
        select(func.count())
        .select_from(StreamViewer)
        .where(StreamViewer.stream_id == stream_id, seen_before(StreamViewer.viewer_id, earlier))
    )
    return int(n or 0)


async def new_viewer_retention(
    session: AsyncSession, stream_id: int, until: datetime, earlier: list[int]
) -> dict[str, Any]:
    """New viewers' watch time: how many left within EARLY_LEAVE_SECONDS.

    Only viewers who joined have a presence row, so this reads `stream_viewer_presence`.
    """
    p = StreamViewerPresence
    where = [p.stream_id == stream_id]
    if earlier:
        where.append(~seen_before(p.viewer_id, earlier))
    if session.get_bind().dialect.name == "postgresql":
        # Aggregated in the database: a big stream has tens of thousands of new viewers.
        total = p.watch_ms + func.coalesce(func.greatest(_ms_since(p.present_since, until), 0), 0)
        sub = select(total.label("ms")).where(*where).subquery()
        n, early, ms_sum = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(
                        func.sum(case((sub.c.ms < EARLY_LEAVE_SECONDS * 1000, 1), else_=0)), 0
                    ),
                    func.coalesce(func.sum(sub.c.ms), 0),
                )
            )
        ).one()
        n, early, ms_total = int(n), int(early), int(ms_sum)
    else:
        watched = [
            int(ms) + (elapsed_ms(since, until) if since is not None else 0)
            for ms, since in await session.execute(
                select(p.watch_ms, p.present_since).where(*where)
            )
        ]
        n, ms_total = len(watched), sum(watched)
        early = sum(1 for ms in watched if ms < EARLY_LEAVE_SECONDS * 1000)
    avg = round2(Decimal(ms_total) / 1000 / n) if n else 0.0
    return {
        "new_viewers_with_presence": n,
        "left_within_seconds": EARLY_LEAVE_SECONDS,
        "left_early": early,
        "left_early_share": ratio(early, n),
        "avg_watch_seconds": avg,
    }


# ----------------------------------------------------------------------------- series


async def minute_series(
    session: AsyncSession, stream_id: int, minutes: Sequence[Any]
) -> list[dict[str, Any]]:
    online_rows = {
        r.minute: r
        for r in (
            await session.execute(
                select(StreamOnlineMinute).where(StreamOnlineMinute.stream_id == stream_id)
            )
        ).scalars()
    }
    by_minute = {r.minute: r for r in minutes}
    keys = sorted(set(by_minute) | set(online_rows))
    if not keys:
        return []
    first, last = keys[0], keys[-1]
    span = int((last - first) / MINUTE) + 1
    if span > MAX_SERIES_MINUTES:
        first = last - (MAX_SERIES_MINUTES - 1) * MINUTE
    out: list[dict[str, Any]] = []
    online = 0
    m = first
    while m <= last:
        r = by_minute.get(m)
        o = online_rows.get(m)
        if o is not None:
            online = o.online_end
        row: dict[str, Any] = {
            "minute": local(m),  # the team's time zone, with its offset
            "entries": r.joins if r else 0,
            "leaves": r.leaves if r else 0,
            "online": online,
            "peak_online": o.peak_online if o else online,
        }
        for c in MINUTE_COUNTS:
            if c not in ("cancelled_orders", "refunded_orders"):
                row[c] = getattr(r, c) if r else 0
        row["gmv"] = money(r.gmv if r else ZERO)
        row["refunds"] = money(r.refunds if r else ZERO)
        out.append(row)
        m += MINUTE
    return out


# ----------------------------------------------------------------------------- products


def _product_figures(values: dict[str, Any]) -> dict[str, Any]:
    gmv, refunds = values["gmv"], values["refunds"]
    return {
        "product_clicks": values["product_clicks"],
        "add_to_cart": values["add_to_cart"],
        "orders": values["orders"],
        "paid_orders": values["paid_orders"],
        "cancelled_orders": values["cancelled_orders"],
        "refunded_orders": values["refunded_orders"],
        "units_sold": values["units_sold"],
        "gmv": money(gmv),
        "refunds": money(refunds),
        "net_gmv": money(gmv - refunds),
        "click_to_order_rate": ratio(values["orders"], values["product_clicks"]),
        "refund_rate": ratio(refunds, gmv),
        "funnel": [
            {"step": s, "count": values[s]}
            for s in ("product_clicks", "add_to_cart", "orders", "paid_orders")
        ],
    }


def _empty_product() -> dict[str, Any]:
    return {**dict.fromkeys(PRODUCT_SUMS, 0), "gmv": ZERO, "refunds": ZERO}


async def product_totals(session: AsyncSession, stream_id: int) -> dict[int, dict[str, Any]]:
    """Per-product sums over the stream's product minutes (one row per product)."""
    t = StreamProductMinute
    rows = await session.execute(
        select(t.product_id, *(func.sum(getattr(t, c)) for c in PRODUCT_SUMS))
        .where(t.stream_id == stream_id)
        .group_by(t.product_id)
    )
    out: dict[int, dict[str, Any]] = {}
    for pid, *sums in rows:
        values = dict(zip(PRODUCT_SUMS, sums, strict=True))
        for c in PRODUCT_SUMS:
            values[c] = Decimal(values[c] or 0) if c in ("gmv", "refunds") else int(values[c] or 0)
        out[int(pid)] = values
    return out


async def products(
    session: AsyncSession, stream_id: int, totals: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    lineup = {
        item.product_id: item
        for item in (
            await session.execute(select(LineupItem).where(LineupItem.stream_id == stream_id))
        ).scalars()
    }
    ids = sorted(set(totals) | set(lineup))
    names = {
        p.id: p
        for p in (await session.execute(select(Product).where(Product.id.in_(ids)))).scalars()
    }
    out: list[dict[str, Any]] = []
    for pid in ids:
        product = names.get(pid)
        item = lineup.get(pid)
        out.append(
            {
                "product_id": pid,
                "sku": product.sku if product else None,
                "name": product.name if product else None,
                "position": item.position if item else None,
                "live_price": money(item.live_price) if item else None,
                **_product_figures(totals.get(pid, _empty_product())),
            }
        )
    out.sort(key=lambda p: (-Decimal(p["gmv"]), p["product_id"]))
    return out


# ----------------------------------------------------------------------------- windows


Window = tuple[datetime, datetime, int | None]  # start, end, product (None: all)


def _pg_window_sums(table: str, sums: Sequence[str], by_product: bool) -> Any:
    """One constant statement for any number of windows (arrays, so it is prepared
    once); each window is an indexed range of the table's primary key."""
    product = "AND t.product_id = w.pid " if by_product else ""
    columns = ", ".join(f"COALESCE(SUM(t.{c}), 0)" for c in sums)
    return text(
        f"SELECT w.i, {columns} FROM unnest(CAST(:lo AS TIMESTAMPTZ[]), "
        f"CAST(:hi AS TIMESTAMPTZ[]), CAST(:pid AS INTEGER[])) WITH ORDINALITY "
        f"AS w(lo, hi, pid, i) LEFT JOIN {table} t ON t.stream_id = :sid {product}"
        f"AND t.second >= w.lo AND t.second < w.hi GROUP BY w.i ORDER BY w.i"
    )


_PG_STREAM_WINDOWS = _pg_window_sums("stream_seconds", SECOND_SUMS, by_product=False)
_PG_PRODUCT_WINDOWS = _pg_window_sums("stream_product_seconds", WINDOW_SUMS, by_product=True)


async def _sums_of(
    session: AsyncSession, stream_id: int, windows: Sequence[Window], by_product: bool
) -> list[list[Any]]:
    """Raw sums (SECOND_SUMS or WINDOW_SUMS order) per window, in order."""
    if not windows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "sid": stream_id,
            "lo": [second_of(w[0]) for w in windows],
            "hi": [second_of(w[1]) for w in windows],
            "pid": [w[2] for w in windows],
        }
        stmt = _PG_PRODUCT_WINDOWS if by_product else _PG_STREAM_WINDOWS
        return [list(r[1:]) for r in await session.execute(stmt, params)]
    t: Any = StreamProductSecond if by_product else StreamSecond
    sums = WINDOW_SUMS if by_product else SECOND_SUMS
    out = []
    for start, end, product_id in windows:
        where = [t.stream_id == stream_id, t.second >= second_of(start), t.second < second_of(end)]
        if by_product:
            where.append(t.product_id == product_id)
        row = await session.execute(
            select(*(func.coalesce(func.sum(getattr(t, c)), 0) for c in sums)).where(*where)
        )
        out.append(list(row.one()))
    return out


async def window_sums(
    session: AsyncSession, stream_id: int, windows: Sequence[Window]
) -> list[dict[str, Any]]:
    """What happened in each [start, end), attributed by the second each event happened in.

    A window covers the seconds from the one `start` falls in up to, not including, the
    one `end` falls in, so windows that follow one another share no event. A window of
    one product sums `stream_product_seconds` (without comments); a window of every
    product sums `stream_seconds` (orders without a product, and comments, too).
    """
    whole = iter(await _sums_of(session, stream_id, [w for w in windows if w[2] is None], False))
    single = iter(
        await _sums_of(session, stream_id, [w for w in windows if w[2] is not None], True)
    )
    out: list[dict[str, Any]] = []
    for window in windows:
        by_product = window[2] is not None
        values = next(single) if by_product else next(whole)
        columns = WINDOW_SUMS if by_product else SECOND_SUMS
        out.append(
            {
                c: money(Decimal(v)) if c == "gmv" else int(v)
                for c, v in zip(columns, values, strict=True)
            }
        )
    return out


def _online_before(series: Sequence[dict[str, Any]], minute: datetime) -> int:
    online = 0
    for row in series:
        if row["minute"] >= minute:
            break
        online = row["online"]
    return online


def _online_during(
    series: Sequence[dict[str, Any]], start: datetime, end: datetime
) -> tuple[int, int]:
    """Online viewers before the window's first minute and at the end of its last one
    (presence is kept per minute)."""
    first = minute_of(start)
    inside = [r for r in series if first <= r["minute"] < end]
    online_start = _online_before(series, first)
    return online_start, inside[-1]["online"] if inside else online_start


async def segments(
    session: AsyncSession, stream: Stream, series: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    if stream.started_at is None:
        return []
    rows = (
        await session.execute(
            select(ScriptSegment)
            .where(ScriptSegment.stream_id == stream.id)
            .order_by(ScriptSegment.start_offset_seconds, ScriptSegment.position)
        )
    ).scalars()
    segs = list(rows)
    ran = await segment_runs(session, stream, review_until(stream))
    planned: list[tuple[ScriptSegment, datetime, datetime]] = []
    for seg in segs:
        if ran:  # the segment control was used: when each segment really ran
            for start, end in ran.get(seg.id, []):
                planned.append((seg, start, end))
            continue
        start = stream.started_at + timedelta(seconds=seg.start_offset_seconds)
        planned.append((seg, start, start + timedelta(seconds=seg.duration_seconds)))
    planned.sort(key=lambda x: x[1])
    sums = await window_sums(session, stream.id, [(start, end, None) for _, start, end in planned])
    out: list[dict[str, Any]] = []
    for (seg, start, end), figures in zip(planned, sums, strict=True):
        online_start, online_end = _online_during(series, start, end)
        out.append(
            {
                "segment_id": seg.id,
                "position": seg.position,
                "kind": str(seg.kind),
                "title": seg.title,
                "product_id": seg.product_id,
                "start": start,
                "end": end,
                "timed_by": "segment_control" if ran else "plan",
                **figures,
                "online_start": online_start,
                "online_end": online_end,
            }
        )
    return out


async def segment_runs(
    session: AsyncSession, stream: Stream, until: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """When each segment ran, from the segment control's log: a segment runs from the
    move that made it current to the next move (or the end of the stream). Empty when
    the segment control was never used (the plan's times are all there is then)."""
    moves = list(
        (
            await session.execute(
                select(ControlAction)
                .where(ControlAction.stream_id == stream.id, ControlAction.action == "segment")
                .order_by(ControlAction.created_at, ControlAction.id)
            )
        ).scalars()
    )
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    for move, after in itertools.zip_longest(moves, moves[1:]):
        seg_id = move.detail.get("to_segment_id")
        if seg_id is None:
            continue
        end = after.created_at if after is not None else max(until, move.created_at)
        if stream.ended_at is not None:
            end = min(end, max(stream.ended_at, move.created_at))
        out.setdefault(int(seg_id), []).append((move.created_at, end))
    return out


async def explanations(
    session: AsyncSession, stream: Stream, until: datetime
) -> list[dict[str, Any]]:
    """Explanation windows from the control log: explain → next explain, delist or end."""
    actions = list(
        (
            await session.execute(
                select(ControlAction)
                .where(
                    ControlAction.stream_id == stream.id,
                    ControlAction.action.in_(("explain", "delist")),
                )
                .order_by(ControlAction.created_at, ControlAction.id)
            )
        ).scalars()
    )
    windows: list[tuple[int, datetime, datetime]] = []
    current: tuple[int, datetime] | None = None
    for a in actions:
        if a.action == "explain" and a.product_id is not None:
            if current is not None:
                windows.append((current[0], current[1], a.created_at))
            current = (a.product_id, a.created_at)
        elif (
            a.action == "delist"
            and current is not None
            and a.product_id == current[0]
            and a.detail.get("stopped_explaining")
        ):
            windows.append((current[0], current[1], a.created_at))
            current = None
    if current is not None:
        windows.append((current[0], current[1], max(until, current[1])))
    sums = await window_sums(session, stream.id, [(start, end, pid) for pid, start, end in windows])
    return [
        {
            "product_id": pid,
            "start": start,
            "end": end,
            "duration_seconds": int((end - start).total_seconds()),
            **figures,
        }
        for (pid, start, end), figures in zip(windows, sums, strict=True)
    ]


# ----------------------------------------------------------------------------- context


def targets(stream: Stream, fig: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pairs: list[tuple[str, Any, Any]] = [
        ("gmv", stream.target_gmv, fig["gmv"]),
        ("viewers", stream.target_viewers, fig["viewers"]),
        ("conversion_rate", stream.target_conversion_rate, fig["conversion_rate"]),
        ("new_followers", stream.target_new_followers, fig["new_followers"]),
    ]
    for metric, target, actual in pairs:
        if target is None:
            continue
        if metric == "gmv":
            shown_target: Any = money(target)
        elif metric == "conversion_rate":
            shown_target = float(target)
        else:
            shown_target = int(target)
        out.append(
            {
                "metric": metric,
                "target": shown_target,
                "actual": actual,
                "achievement": ratio(Decimal(str(actual)), Decimal(str(target))),
                "met": Decimal(str(actual)) >= Decimal(str(target)),
            }
        )
    return out


async def timeline(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for inc in (
        await session.execute(select(Incident).where(Incident.stream_id == stream.id))
    ).scalars():
        items.append(
            {
                "at": inc.created_at,
                "offset_seconds": offset_seconds(stream, inc.created_at),
                "kind": "incident",
                "type": str(inc.type),
                "text": inc.note,
                "resolved_at": inc.resolved_at,
                "resolution": inc.resolution,
            }
        )
    for al in (await session.execute(select(Alert).where(Alert.stream_id == stream.id))).scalars():
        items.append(
            {
                "at": al.created_at,
                "offset_seconds": offset_seconds(stream, al.created_at),
                "kind": "alert",
                "type": al.kind,
                "level": str(al.level),
                "text": al.message,
                # worded in the reader's language by the consoles (app/i18n.py catalogue)
                "code": f"alert.{al.kind}",
                "params": dict(al.data or {}),
                "resolved_at": al.resolved_at,
            }
        )
    items.sort(key=lambda i: (i["at"], i["kind"]))
    return items


# ----------------------------------------------------------------------------- questions

TOP_QUESTIONS = 10
SENTIMENTS = ("positive", "negative", "neutral")


def _item_summary(item: QueueItem) -> dict[str, Any]:
    answered = item.status == ItemStatus.answered and item.answered_at is not None
    return {
        "item_id": item.id,
        "text": item.title,
        "topic": item.topic,
        "count": item.mention_count,
        "askers": item.asker_count,
        "mentions": item.mention_count,
        "negative": item.negative_count,
        "product_id": item.product_id,
        "status": str(item.status),
        "answered": answered,
        "first_at": item.first_at,
        "answered_at": item.answered_at if answered else None,
        "answer_seconds": round2(Decimal((item.answered_at - item.first_at).total_seconds()))
        if answered and item.answered_at is not None
        else None,
    }


def _top(items: Sequence[QueueItem]) -> list[dict[str, Any]]:
    ranked = sorted(items, key=lambda i: (-i.asker_count, -i.mention_count, i.first_at, i.id))
    return [_item_summary(i) for i in ranked[:TOP_QUESTIONS]]


async def _by_sentiment(session: AsyncSession, *where: Any) -> dict[str, int]:
    rows = await session.execute(
        select(Comment.sentiment, func.count()).where(*where).group_by(Comment.sentiment)
    )
    return {str(label): int(n) for label, n in rows}


async def questions(session: AsyncSession, stream_id: int) -> dict[str, Any]:
    """Top questions and complaints from the service queue's merged items, and the
    sentiment of the stream's comments (as classified on arrival)."""
    # Two index-only counts (all comments; blocked ones, from a small partial index)
    # instead of reading every comment row: a big stream has hundreds of thousands.
    every = await _by_sentiment(session, Comment.stream_id == stream_id)
    hidden = await _by_sentiment(session, Comment.stream_id == stream_id, Comment.blocked)
    total, blocked = sum(every.values()), sum(hidden.values())
    sentiment = dict.fromkeys(SENTIMENTS, 0)
    for label, n in every.items():
        sentiment[label] = sentiment.get(label, 0) + n - hidden.get(label, 0)
    items = list(
        (
            await session.execute(
                select(QueueItem).where(
                    QueueItem.stream_id == stream_id, QueueItem.kind.in_(("question", "complaint"))
                )
            )
        ).scalars()
    )
    asked = [i for i in items if i.kind == "question"]
    topics: dict[str, list[int]] = {}
    for i in asked:
        t = topics.setdefault(i.topic, [0, 0])
        t[0] += i.mention_count
        t[1] += 1
    answered = [s for s in map(_item_summary, asked) if s["answered"]]
    waits = [Decimal(str(s["answer_seconds"])) for s in answered]
    corrections = await text_learning.correction_counts(session, stream_id)
    return {
        "comments_classified": total,
        "blocked": blocked,
        # How often the team corrected the classifier (issue #14).
        "classifier_corrections": {
            **corrections,
            "corrected_share": ratio(corrections["comments_corrected"], total),
        },
        "sentiment": sentiment,
        "negative_share": ratio(sentiment["negative"], total - blocked),
        "question_topics": [
            {"topic": t, "questions": v[0], "items": v[1]}
            for t, v in sorted(topics.items(), key=lambda x: (-x[1][0], x[0]))
        ],
        "top_questions": _top(asked),
        "top_complaints": _top([i for i in items if i.kind == "complaint"]),
        "queue": {
            "question_items": len(asked),
            "askers": sum(i.asker_count for i in asked),
            "answered": len(answered),
            "unanswered": sum(i.status in (ItemStatus.open, ItemStatus.claimed) for i in asked),
            "dismissed": sum(i.status == ItemStatus.dismissed for i in asked),
            "answer_rate": ratio(len(answered), len(asked)),
            "avg_answer_seconds": round2(sum(waits, ZERO) / len(waits)) if waits else None,
        },
    }


# ----------------------------------------------------------------------------- diagnoses


def diagnoses(
    fig: dict[str, Any],
    product_list: Sequence[dict[str, Any]],
    retention: dict[str, Any],
    segment_list: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    carts, paid = fig["add_to_cart"], fig["paid_orders"]
    if carts >= CART_MIN and Decimal(paid) / carts < CART_TO_PAID_MAX:
        out.append(
            {
                "code": "carts_high_payment_low",
                "severity": "warning",
                "message": "Many add-to-carts but few paid orders (加购高、支付低)",
                "suggestion": "Check the price against competitors and the payment step "
                "(coupon rules, payment failures, unpaid orders).",
                "evidence": {
                    "add_to_cart": carts,
                    "orders": fig["orders"],
                    "paid_orders": paid,
                    "cart_to_paid_rate": ratio(paid, carts),
                    "payment_rate": fig["payment_rate"],
                },
            }
        )
    n = retention["new_viewers_with_presence"]
    if n >= NEW_VIEWERS_MIN and Decimal(retention["left_early"]) / n >= EARLY_LEAVE_SHARE:
        out.append(
            {
                "code": "new_viewers_leave_early",
                "severity": "warning",
                "message": "New viewers leave within a minute (新观众留存低)",
                "suggestion": "Improve newcomer guidance: greet new arrivals, pin the welfare "
                "and the current product, repeat the theme every few minutes.",
                "evidence": {
                    "new_viewers": n,
                    "left_within_seconds": EARLY_LEAVE_SECONDS,
                    "left_early": retention["left_early"],
                    "left_early_share": retention["left_early_share"],
                    "new_viewers_avg_watch_seconds": retention["avg_watch_seconds"],
                },
            }
        )
    for p in product_list:
        clicks, orders = p["product_clicks"], p["orders"]
        if clicks >= CLICKS_MIN and Decimal(orders) / clicks <= CLICK_TO_ORDER_MAX:
            out.append(
                {
                    "code": "clicks_without_orders",
                    "severity": "warning",
                    "product_id": p["product_id"],
                    "message": f"Product {p['name'] or p['product_id']} is clicked but "
                    "hardly ordered (有点击无转化)",
                    "suggestion": "Check its price, offer and card; explain its selling "
                    "points again or swap it for a better-fitting product.",
                    "evidence": {
                        "product_clicks": clicks,
                        "orders": orders,
                        "click_to_order_rate": p["click_to_order_rate"],
                    },
                }
            )
        if (
            p["paid_orders"] >= REFUND_PAID_MIN
            and Decimal(str(p["refund_rate"])) >= REFUND_RATE_MAX
        ):
            out.append(
                {
                    "code": "high_refunds",
                    "severity": "critical",
                    "product_id": p["product_id"],
                    "message": f"High refunds on {p['name'] or p['product_id']} (退款率高)",
                    "suggestion": "Check quality complaints and whether the explanation "
                    "over-promised; review the supplier.",
                    "evidence": {
                        "paid_orders": p["paid_orders"],
                        "refunded_orders": p["refunded_orders"],
                        "gmv": p["gmv"],
                        "refunds": p["refunds"],
                        "refund_rate": p["refund_rate"],
                    },
                }
            )
    for s in segment_list:
        start, end = s["online_start"], s["online_end"]
        if start >= ONLINE_MIN and Decimal(start - end) / start >= ONLINE_DROP:
            out.append(
                {
                    "code": "online_falling_in_segment",
                    "severity": "warning",
                    "segment_id": s["segment_id"],
                    "message": f"Online viewers fell during “{s['title']}” (在线下滑)",
                    "suggestion": "Shorten this segment, add an interaction or welfare in "
                    "it, or move it later in the rundown.",
                    "evidence": {
                        "online_start": start,
                        "online_end": end,
                        "drop_rate": ratio(start - end, start),
                    },
                }
            )
    return out


# The diagnoses a team asked for after its first real stream (#16): each with its code,
# `params` (what the consoles word it with) and the evidence.
ANSWER_RATE_MIN = Decimal("0.5")  # below: "most questions went unanswered"
ANSWER_ITEMS_MIN = 5
TARGET_MET_SHARE = Decimal("0.8")  # below this share of a target: a shortfall
SOLD_OUT_CLICKS_MIN = 5  # clicks on a product after it sold out


async def more_diagnoses(
    session: AsyncSession,
    stream: Stream,
    product_list: Sequence[dict[str, Any]],
    series: Sequence[dict[str, Any]],
    queue: dict[str, Any],
    target_list: Sequence[dict[str, Any]],
    until: datetime,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    items, answered = queue["question_items"], queue["answered"]
    if items >= ANSWER_ITEMS_MIN and Decimal(answered) / items < ANSWER_RATE_MIN:
        out.append(
            {
                "code": "low_answer_rate",
                "severity": "warning",
                "message": f"Only {answered} of {items} viewer questions were answered",
                "suggestion": "Put another agent on the service queue, seed quick replies "
                "and FAQ entries, and let the host answer the most-asked ones on air.",
                "params": {"answered": answered, "items": items},
                "evidence": {
                    "question_items": items,
                    "answered": answered,
                    "unanswered": queue["unanswered"],
                    "answer_rate": queue["answer_rate"],
                },
            }
        )
    names = {p["product_id"]: p["name"] or f"#{p['product_id']}" for p in product_list}
    sold_out = list(
        (
            await session.execute(
                select(Alert)
                .where(Alert.stream_id == stream.id, Alert.kind == "sold_out")
                .order_by(Alert.created_at)
            )
        ).scalars()
    )
    windows = []
    for a in sold_out:
        pid = a.data.get("product_id")
        if isinstance(pid, int):
            windows.append((a.created_at, max(a.resolved_at or until, a.created_at), pid))
    clicked_after: dict[int, tuple[int, datetime]] = {}
    for (start, _end, pid), figures in zip(
        windows, await window_sums(session, stream.id, windows), strict=True
    ):
        before = clicked_after.get(pid, (0, start))
        clicked_after[pid] = (before[0] + int(figures.get("product_clicks", 0)), before[1])
    for pid, (clicks, since) in clicked_after.items():
        if clicks >= SOLD_OUT_CLICKS_MIN:
            out.append(
                {
                    "code": "sold_out_while_clicked",
                    "severity": "critical",
                    "product_id": pid,
                    "message": f"{names.get(pid, pid)} sold out and was clicked {clicks} "
                    "more times",
                    "suggestion": "Allot more stock or prepare a restock and a substitute; "
                    "delist a sold-out product or tell the room when it is back.",
                    "params": {"name": names.get(pid, f"#{pid}"), "clicks": clicks},
                    "evidence": {
                        "product_clicks_after_sold_out": clicks,
                        "sold_out_at": since.isoformat(),
                    },
                }
            )
    for t in target_list:
        if Decimal(str(t["achievement"])) < TARGET_MET_SHARE:
            out.append(
                {
                    "code": "target_shortfall",
                    "severity": "critical" if t["metric"] == "gmv" else "warning",
                    "message": f"{t['metric']} reached {float(t['achievement']):.1%} of its target",
                    "suggestion": "Compare the lineup, traffic and pricing with the plan; "
                    "set the next target from what this stream really did.",
                    "params": {"metric": f"metric.{t['metric']}", "achievement": t["achievement"]},
                    "evidence": {
                        "target": t["target"],
                        "actual": t["actual"],
                        "achievement": t["achievement"],
                    },
                }
            )
    target_gmv = stream.target_gmv
    planned = (stream.planned_minutes or 0) * 60
    if target_gmv and planned and stream.started_at and series:
        half = stream.started_at + timedelta(seconds=planned / 2)
        first_half = sum(
            (Decimal(str(r.get("gmv") or 0)) for r in series if r["minute"] < half), ZERO
        )
        share = ratio(first_half, target_gmv)
        if until >= half and Decimal(str(share)) < Decimal("0.5") * TARGET_MET_SHARE:
            out.append(
                {
                    "code": "slow_pace",
                    "severity": "warning",
                    "message": f"At half time only {share:.1%} of the GMV target was reached "
                    "(50% due)",
                    "suggestion": "Open with a hero product and a welfare; list the first "
                    "product at go-live and push conversion in the first 30 minutes.",
                    "params": {"share": share, "minutes": planned // 120},
                    "evidence": {
                        "gmv_first_half": money(first_half),
                        "target_gmv": money(target_gmv),
                        "first_half_share": share,
                    },
                }
            )
    return out


# ----------------------------------------------------------------------------- comparison

COMPARED = (
    "viewers",
    "peak_online",
    "avg_watch_seconds",
    "interaction_rate",
    "follower_conversion_rate",
    "gmv",
    "paid_orders",
    "paying_customers",
    "aov",
    "gpm",
    "conversion_rate",
    "refund_rate",
)


async def comparison(
    session: AsyncSession, stream: Stream, fig: dict[str, Any], last: int, now: datetime
) -> dict[str, Any]:
    ids = await team_stream_ids(session, stream)
    started = stream.started_at or now
    earlier = list(
        (
            await session.execute(
                select(Stream)
                .where(
                    Stream.id.in_(ids),
                    Stream.started_at.is_not(None),
                    Stream.started_at < started,
                    Stream.status.in_((StreamStatus.ended, StreamStatus.archived)),
                )
                .order_by(Stream.started_at.desc(), Stream.id.desc())
                .limit(last)
            )
        ).scalars()
    )
    figures: dict[str, Any] = {}
    others = [(await headline(session, s, now))[0].figures() for s in earlier]
    for key in COMPARED:
        if not others:
            break
        values = [Decimal(str(o[key])) for o in others]
        median = Decimal(str(statistics.median(values)))
        this = Decimal(str(fig[key]))
        shown: Any = money(median) if isinstance(fig[key], str) else float(median)
        figures[key] = {
            "value": fig[key],
            "median": shown,
            "change": ratio(this - median, median) if median else None,
        }
    return {"last": last, "stream_ids": [s.id for s in earlier], "figures": figures}


# ----------------------------------------------------------------------------- report


async def aftersales_review(session: AsyncSession, stream_id: int) -> dict[str, Any]:
    from app.services.aftersales import review_section

    return await review_section(session, stream_id)


async def build_review(
    session: AsyncSession,
    counts: CommentCounts,
    stream: Stream,
    *,
    compare_last: int = COMPARE_LAST,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    # The rollups are folded from the log after it commits: fold the rest in first.
    await projection.catch_up(session, counts, stream.id)
    until = review_until(stream, now)
    h, minute_rows = await headline(session, stream, now)
    fig = h.figures()
    earlier = await earlier_stream_ids(session, stream, until)
    returning = await returning_viewers(session, stream.id, earlier)
    fig["returning_viewers"] = returning
    fig["new_viewers"] = h.viewers - returning
    series = await minute_series(session, stream.id, minute_rows)
    product_list = await products(session, stream.id, await product_totals(session, stream.id))
    segment_list = await segments(session, stream, series)
    question_stats = await questions(session, stream.id)
    target_list = targets(stream, fig)
    retention = await new_viewer_retention(session, stream.id, until, earlier)
    report: dict[str, Any] = {
        "stream_id": stream.id,
        "title": stream.title,
        "status": str(stream.status),
        "started_at": stream.started_at,
        "ended_at": stream.ended_at,
        "duration_seconds": h.duration_seconds,
        "generated_at": now,
        **fig,
        "funnel": h.funnel(),
        "products": product_list,
        "minutes": series,
        "traffic_sources": traffic_sources(h),
        "new_vs_returning": {
            "new_viewers": fig["new_viewers"],
            "returning_viewers": returning,
            "returning_share": ratio(returning, h.viewers),
            "new_viewer_retention": retention,
        },
        "targets": target_list,
        "segments": segment_list,
        "explanations": await explanations(session, stream, until),
        "questions": question_stats,
        "timeline": await timeline(session, stream),
        "diagnoses": diagnoses(fig, product_list, retention, segment_list)
        + await more_diagnoses(
            session, stream, product_list, series, question_stats["queue"], target_list, until
        ),
        "comparison": await comparison(session, stream, fig, compare_last, now),
        # issue #13: after-sales beside the sales figures (returns, complaints, surveys)
        "after_sales": await aftersales_review(session, stream.id),
    }
    return report


# ----------------------------------------------------------------------------- highlights
