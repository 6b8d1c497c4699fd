"""Viewer tags and segments for private-domain follow-up (私域沉淀).

Tags are rules over the persisted per-viewer rollups (`stream_viewers`, the review's
presence rollup), the viewer's rows on earlier streams and their classified comments;
nothing is stored, so the tags always follow the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Comment, Stream, StreamViewer, StreamViewerPresence
from app.realtime.ports import CommentCounts
from app.schemas.common import format_money
from app.services import projection
from app.services.review_report import review_until
from app.services.rollups import elapsed_ms

HIGH_VALUE_MIN = Decimal("500.00")

TAG_RULES: dict[str, str] = {
    "newcomer": "first seen on this stream: no row in the log of a stream that started earlier",
    "watched_without_buying": "joined the room (viewer_join) and has no paid order here",
    "buyer": "at least one paid order on this stream",
    "repeat_buyer": "paid orders on this stream and earlier streams add up to 2 or more, "
    "with at least one here",
    "high_value": "paid amount on this stream (before refunds) ≥ high_value_min "
    f"(default {HIGH_VALUE_MIN})",
    "asked_about:<topic>": "commented a question (not blocked) that the comment classifier "
    "(app/text) put under <topic> (product, promo, logistics, after_sales, order, other) "
    "when it arrived",
}


@dataclass(slots=True)
class TaggedViewer:
    viewer_id: str
    source: str | None
    first_seen: datetime
    last_seen: datetime
    watch_seconds: float
    comments: int
    product_clicks: int
    add_to_cart: int
    paid_orders: int
    paid_amount: Decimal
    refunded_amount: Decimal
    earlier_paid_orders: int = 0
    tags: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "viewer_id": self.viewer_id,
            "tags": " ".join(self.tags),
            "source": self.source or "",
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "watch_seconds": self.watch_seconds,
            "comments": self.comments,
            "product_clicks": self.product_clicks,
            "add_to_cart": self.add_to_cart,
            "paid_orders": self.paid_orders,
            "paid_amount": format_money(self.paid_amount),
            "refunded_amount": format_money(self.refunded_amount),
            "earlier_paid_orders": self.earlier_paid_orders,
        }


EXPORT_COLUMNS = (
    "viewer_id",
    "tags",
    "source",
    "first_seen",
    "last_seen",
    "watch_seconds",
    "comments",
    "product_clicks",
    "add_to_cart",
    "paid_orders",
    "paid_amount",
    "refunded_amount",
    "earlier_paid_orders",
)


async def _question_topics(session: AsyncSession, stream_id: int) -> dict[str, set[str]]:
    """viewer → topics they asked about: their visible comments the classifier labelled
    as questions on arrival (the ones the service queue merged)."""
    rows = await session.execute(
        select(Comment.viewer_id, Comment.topic)
        .where(
            Comment.stream_id == stream_id,
            Comment.kind == "question",
            Comment.blocked.is_(False),
        )
        .distinct()
    )
    topics: dict[str, set[str]] = {}
    for viewer, topic in rows:
        if topic:
            topics.setdefault(viewer, set()).add(str(topic))
    return topics


async def tag_viewers(
    session: AsyncSession,
    counts: CommentCounts,
    stream: Stream,
    high_value_min: Decimal = HIGH_VALUE_MIN,
    now: datetime | None = None,
) -> list[TaggedViewer]:
    await projection.catch_up(session, counts, stream.id)  # the rollups are folded after commit
    until = review_until(stream, now)
    v, p = StreamViewer, StreamViewerPresence
    rows = await session.execute(
        select(
            v.viewer_id,
            v.source,
            v.first_seen,
            v.last_seen,
            v.joins,
            v.comments,
            v.product_clicks,
            v.add_to_cart,
            v.paid_orders,
            v.paid_amount,
            v.refunded_amount,
            p.watch_ms,
            p.present_since,
        )
        .select_from(v)
        .outerjoin(p, (p.stream_id == v.stream_id) & (p.viewer_id == v.viewer_id))
        .where(v.stream_id == stream.id)
        .order_by(v.viewer_id)
    )
    viewers: dict[str, TaggedViewer] = {}
    joined: set[str] = set()
    for r in rows:
        ms = int(r.watch_ms or 0)
        if r.present_since is not None:
            ms += elapsed_ms(r.present_since, until)
        viewers[r.viewer_id] = TaggedViewer(
            viewer_id=r.viewer_id,
            source=r.source,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            watch_seconds=ms / 1000,
            comments=r.comments,
            product_clicks=r.product_clicks,
            add_to_cart=r.add_to_cart,
            paid_orders=r.paid_orders,
            paid_amount=Decimal(r.paid_amount),
            refunded_amount=Decimal(r.refunded_amount),
        )
        if r.joins > 0:
            joined.add(r.viewer_id)
    # Earlier streams: who was seen there, and how many paid orders they had.
    started = stream.started_at or until
    earlier = select(Stream.id).where(
        Stream.id != stream.id,
        Stream.started_at.is_not(None),
        Stream.started_at < started,
        Stream.is_rehearsal.is_(False),  # a rehearsal's (replayed) viewers are not history
    )
    mine = select(v.viewer_id).where(v.stream_id == stream.id)
    history = await session.execute(
        select(v.viewer_id, func.sum(v.paid_orders))
        .where(v.stream_id.in_(earlier), v.viewer_id.in_(mine))
        .group_by(v.viewer_id)
    )
    seen_before: set[str] = set()
    for vid, paid in history:
        seen_before.add(vid)
        viewers[vid].earlier_paid_orders = int(paid or 0)
    topics = await _question_topics(session, stream.id)
    for vid, tv in viewers.items():
        if vid not in seen_before:
            tv.tags.append("newcomer")
        if vid in joined and tv.paid_orders == 0:
            tv.tags.append("watched_without_buying")
        if tv.paid_orders > 0:
            tv.tags.append("buyer")
            if tv.paid_orders + tv.earlier_paid_orders >= 2:
                tv.tags.append("repeat_buyer")
        if tv.paid_amount >= high_value_min:
            tv.tags.append("high_value")
        for topic in sorted(topics.get(vid, ())):
            tv.tags.append(f"asked_about:{topic}")
    return list(viewers.values())


def segment_counts(viewers: list[TaggedViewer]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for tv in viewers:
        for tag in tv.tags:
            counts[tag] = counts.get(tag, 0) + 1
    fixed = [t for t in TAG_RULES if not t.startswith("asked_about")]
    order = fixed + sorted(t for t in counts if t not in fixed)
    return [{"tag": t, "viewers": counts.get(t, 0)} for t in order]


def members(viewers: list[TaggedViewer], tag: str) -> list[TaggedViewer]:
    known = set(TAG_RULES) - {"asked_about:<topic>"}
    if tag not in known and not tag.startswith("asked_about:"):
        raise NotFound(f"no segment named {tag!r}", code="unknown_segment")
    return [tv for tv in viewers if tag in tv.tags]
