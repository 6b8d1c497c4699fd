"""A small stream with known events, built through the real event-log writer.

Every figure the review reports for it is computed by hand in test_report.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Alert,
    AlertLevel,
    Incident,
    IncidentType,
    LineupItem,
    SegmentKind,
)
from app.schemas.events import EventIn
from tests.conftest import Staff
from tests.review.helpers import T0, at, control, log_events, make_product, make_stream, segment

S0_START = datetime(2026, 11, 13, 12, 0, tzinfo=UTC)


@dataclass
class Built:
    stream_id: int
    earlier_id: int
    p1: int
    p2: int
    headers: dict[str, str]


def ev(
    kind: str,
    user: str,
    ts: datetime,
    product: int | None = None,
    qty: int | None = None,
    amount: str | None = None,
    source: str | None = None,
) -> EventIn:
    return EventIn(
        kind,
        user,
        uuid.uuid4().hex,
        ts,
        product,
        None,
        qty,
        Decimal(amount) if amount is not None else None,
        source,
    )


async def build(client: httpx.AsyncClient, session: AsyncSession, staff: Staff) -> Built:
    ctl = await staff.user(f"sc_{uuid.uuid4().hex[:6]}", "controller")
    p1 = await make_product(session, "Silk scarf", "79.00")
    p2 = await make_product(session, "Tea set", "129.00")

    # The team's earlier stream: viewers a and x; x buys one P1.
    s0 = await make_stream(client, session, ctl, "Last week", S0_START)
    await log_events(
        session,
        s0.id,
        [
            ev("viewer_join", "a", at(0, base=S0_START), source="feed"),
            ev("viewer_join", "x", at(0, base=S0_START), source="feed"),
            ev("order_created", "x", at(1, base=S0_START), p1.id, 1, "59.90"),
            ev("order_paid", "x", at(1, 10, base=S0_START), p1.id, 1, "59.90"),
            ev("viewer_leave", "a", at(1, 40, base=S0_START)),
            ev("viewer_leave", "x", at(3, 20, base=S0_START)),
        ],
    )

    s = await make_stream(client, session, ctl, "Scarves and tea", T0)
    s.target_gmv = Decimal("200.00")
    s.target_viewers = 10
    s.target_conversion_rate = Decimal("0.25")
    s.target_new_followers = 4
    session.add_all(
        [
            LineupItem(
                stream_id=s.id,
                product_id=p1.id,
                position=1,
                live_price=Decimal("59.90"),
                allotted_stock=100,
            ),
            LineupItem(
                stream_id=s.id,
                product_id=p2.id,
                position=2,
                live_price=Decimal("99.00"),
                allotted_stock=50,
            ),
            segment(s.id, 1, "Opening", 0, 130, SegmentKind.opening),
            segment(s.id, 2, "Scarf", 130, 170, SegmentKind.product, p1.id),
            segment(s.id, 3, "Closing", 300, 300, SegmentKind.closing),
            control(s.id, "explain", p1.id, at(1, 15)),
            control(s.id, "explain", p2.id, at(3, 30)),
            control(s.id, "delist", p2.id, at(4, 15), stopped_explaining=True),
            Incident(stream_id=s.id, type=IncidentType.technical, note="卡顿", created_at=at(3)),
            Alert(
                stream_id=s.id,
                kind="online_drop",
                key="online_drop",
                level=AlertLevel.warning,
                message="Online fell 33%",
                created_at=at(5, 30),
            ),
        ]
    )
    await session.flush()
    # Two batches, so the presence replay continues across batches.
    await log_events(
        session,
        s.id,
        [
            ev("viewer_join", "a", at(0, 0), source="feed"),
            ev("viewer_join", "b", at(0, 10), source="follow"),
            ev("viewer_join", "c", at(0, 20), source="feed"),
            ev("comment", "a", at(0, 30)),
            ev("like", "b", at(0, 40)),
            ev("viewer_join", "d", at(1, 0), source="ads"),
            ev("viewer_join", "a", at(1, 5)),
            ev("product_click", "a", at(1, 10), p1.id),
            ev("product_click", "b", at(1, 20), p1.id),
            ev("product_click", "c", at(1, 30), p2.id),
            ev("add_to_cart", "a", at(1, 40), p1.id, 1),
            ev("add_to_cart", "b", at(1, 50), p1.id, 1),
            ev("order_created", "a", at(2, 0), p1.id, 2, "119.80"),
            ev("order_paid", "a", at(2, 10), p1.id, 2, "119.80"),
            ev("order_created", "b", at(2, 20), p1.id, 1, "59.90"),
            ev("order_cancelled", "b", at(2, 30), p1.id, 1),
            ev("viewer_leave", "c", at(2, 40)),
        ],
    )
    await log_events(
        session,
        s.id,
        [
            ev("share", "d", at(3, 0)),
            ev("follow", "d", at(3, 10)),
            ev("follow", "d", at(3, 20)),
            ev("follow", "b", at(3, 30)),
            ev("comment", "e", at(4, 0)),
            ev("order_created", "d", at(4, 10), p2.id, 1, "99.00"),
            ev("order_paid", "d", at(4, 20), p2.id, 1, "99.00"),
            ev("order_refunded", "a", at(5, 0), p1.id, 1, "59.90"),
            ev("viewer_leave", "b", at(5, 30)),
            ev("viewer_leave", "b", at(6, 0)),
            ev("viewer_join", "c", at(6, 10), source="search"),
            ev("viewer_leave", "a", at(8, 0)),
        ],
    )
    await session.commit()
    return Built(s.id, s0.id, p1.id, p2.id, ctl)
