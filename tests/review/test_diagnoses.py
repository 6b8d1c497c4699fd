"""Each diagnosis rule fires on a scenario built to trip it, with its evidence figures."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import SegmentKind
from tests.conftest import Staff
from tests.review.helpers import T0, at, log_events, make_product, make_stream, segment
from tests.review.scenario import ev


async def test_diagnoses_fire_with_their_evidence(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    ctl = await staff.user("dg_ctl", "controller")
    clicked = await make_product(session, "Clicked only", "10.00")
    refunded = await make_product(session, "Refunded", "10.00")
    s = await make_stream(client, session, ctl, "Diagnose me", T0)
    session.add_all(
        [
            segment(s.id, 1, "Opening", 0, 60, SegmentKind.opening),
            segment(s.id, 2, "Long talk", 60, 120),
        ]
    )
    events = []
    # 12 new viewers join at 12:00:30 and leave at 12:01:20 (50 s each)
    for i in range(12):
        events.append(ev("viewer_join", f"n{i}", at(0, 30), source="feed"))
    # 10 clicks and 12 carts on `clicked`, no order of it
    for i in range(12):
        if i < 10:
            events.append(ev("product_click", f"n{i}", at(0, 40), clicked.id))
        events.append(ev("add_to_cart", f"n{i}", at(0, 45), clicked.id, 1))
    # `refunded`: 3 paid orders of 10.00, one refunded (10.00 of 30.00 = 0.3333)
    for i in range(3):
        events.append(ev("order_created", f"n{i}", at(0, 50), refunded.id, 1, "10.00"))
        events.append(ev("order_paid", f"n{i}", at(0, 55), refunded.id, 1, "10.00"))
    events.append(ev("order_refunded", "n0", at(1, 0), refunded.id, 1, "10.00"))
    for i in range(12):
        events.append(ev("viewer_leave", f"n{i}", at(1, 20)))
    await log_events(session, s.id, events)
    await session.commit()

    r = await client.get(f"/api/v1/streams/{s.id}/review", headers=ctl)
    assert r.status_code == 200, r.text
    found = {
        (d["code"], d.get("product_id"), d.get("segment_id")): d for d in r.json()["diagnoses"]
    }
    carts = found[("carts_high_payment_low", None, None)]
    assert carts["evidence"] == {
        "add_to_cart": 12,
        "orders": 3,
        "paid_orders": 3,
        "cart_to_paid_rate": 0.25,
        "payment_rate": 1.0,
    }
    early = found[("new_viewers_leave_early", None, None)]
    assert early["evidence"] == {
        "new_viewers": 12,
        "left_within_seconds": 60,
        "left_early": 12,
        "left_early_share": 1.0,
        "new_viewers_avg_watch_seconds": 50.0,
    }
    no_orders = found[("clicks_without_orders", clicked.id, None)]
    assert no_orders["evidence"] == {"product_clicks": 10, "orders": 0, "click_to_order_rate": 0.0}
    refunds = found[("high_refunds", refunded.id, None)]
    assert refunds["evidence"] == {
        "paid_orders": 3,
        "refunded_orders": 1,
        "gmv": "30.00",
        "refunds": "10.00",
        "refund_rate": 0.3333,
    }
    seg_ids = [
        d["segment_id"] for d in r.json()["diagnoses"] if d["code"] == "online_falling_in_segment"
    ]
    assert len(seg_ids) == 1
    falling = found[("online_falling_in_segment", None, seg_ids[0])]
    assert falling["evidence"] == {"online_start": 12, "online_end": 0, "drop_rate": 1.0}
    assert len(found) == 5
