"""The review report against a hand-computed scenario (tests/review/scenario.py).

Hand computation (stream 12:00–12:10 UTC, viewers a b c d e):
* presence in arrival order: a b c join (3), d joins (4, the peak, at 12:01:00), a joins
  again (ignored), c leaves 12:02:40 (3), b leaves 12:05:30 (2), b leaves again (ignored),
  c joins 12:06:10 (3), a leaves 12:08:00 (2).
* watch: a 480 s, b 320 s, c 140 + 230 (open until the end) = 370 s, d 540 s (open),
  e 0 s → 1710 s; ÷ 5 viewers = 342.00; ÷ 600 s = 2.85 average online.
* sales: paid 119.80 (a, P1 ×2) + 99.00 (d, P2) = 218.80; refund 59.90 → net 158.90;
  AOV 218.80 ÷ 2 = 109.40; GPM 218.80 ÷ 5 × 1000 = 43760.00; refund rate
  59.90 ÷ 218.80 = 0.27377 → 0.2738.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Stream
from app.services.eventlog import log_totals, viewer_watch_seconds
from app.services.metric_dictionary import METRIC_KEYS
from tests.conftest import Staff
from tests.review.helpers import T0, at, backfilled_rollups, per_second_rollups
from tests.review.scenario import build


async def _review(client: httpx.AsyncClient, sid: int, headers: dict[str, str]) -> Any:
    r = await client.get(f"/api/v1/streams/{sid}/review", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_review_figures_match_the_hand_computation(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    rep = await _review(client, b.stream_id, b.headers)

    # audience
    assert rep["viewers"] == 5
    assert rep["entries"] == 6
    assert rep["peak_online"] == 4
    assert rep["peak_online_at"].startswith("2026-11-20T12:01:00")
    assert rep["online_at_end"] == 2
    assert rep["total_watch_seconds"] == 1710.0
    assert rep["avg_watch_seconds"] == 342.0
    assert rep["avg_online"] == 2.85
    assert (rep["comments"], rep["likes"], rep["shares"], rep["follows"]) == (2, 1, 1, 3)
    assert rep["new_followers"] == 2
    assert rep["interacting_viewers"] == 4
    assert rep["interaction_rate"] == 0.8
    assert rep["follower_conversion_rate"] == 0.4
    # sales
    assert (rep["product_clicks"], rep["add_to_cart"]) == (3, 2)
    assert (rep["orders"], rep["paid_orders"]) == (3, 2)
    assert (rep["cancelled_orders"], rep["refunded_orders"]) == (1, 1)
    assert rep["units_sold"] == 3
    assert rep["gmv"] == "218.80"
    assert rep["refunds"] == "59.90"
    assert rep["net_gmv"] == "158.90"
    assert rep["paying_customers"] == 2
    assert rep["aov"] == "109.40"
    assert rep["gpm"] == "43760.00"
    assert rep["conversion_rate"] == 0.4
    assert rep["refund_rate"] == 0.2738
    assert rep["refund_order_rate"] == 0.5
    assert rep["payment_rate"] == 0.6667
    assert rep["funnel"] == [
        {"step": "viewers", "count": 5, "viewers": 5, "rate": None},
        {"step": "product_clicks", "count": 3, "viewers": 3, "rate": 0.6},
        {"step": "add_to_cart", "count": 2, "viewers": 2, "rate": 0.6667},
        {"step": "orders", "count": 3, "viewers": 3, "rate": 1.5},
        {"step": "paid_orders", "count": 2, "viewers": 2, "rate": 0.6667},
    ]

    # per product, by GMV
    p1, p2 = rep["products"]
    assert p1["product_id"] == b.p1 and p1["name"] == "Silk scarf" and p1["position"] == 1
    assert (p1["product_clicks"], p1["add_to_cart"], p1["orders"], p1["paid_orders"]) == (
        2,
        2,
        2,
        1,
    )
    assert (p1["cancelled_orders"], p1["refunded_orders"], p1["units_sold"]) == (1, 1, 2)
    assert (p1["gmv"], p1["refunds"], p1["net_gmv"]) == ("119.80", "59.90", "59.90")
    assert (p1["click_to_order_rate"], p1["refund_rate"]) == (1.0, 0.5)
    assert p1["funnel"] == [
        {"step": "product_clicks", "count": 2},
        {"step": "add_to_cart", "count": 2},
        {"step": "orders", "count": 2},
        {"step": "paid_orders", "count": 1},
    ]
    assert p2["product_id"] == b.p2
    assert (p2["product_clicks"], p2["add_to_cart"], p2["orders"], p2["paid_orders"]) == (
        1,
        0,
        1,
        1,
    )
    assert (p2["gmv"], p2["refunds"], p2["units_sold"]) == ("99.00", "0.00", 1)

    # per-minute series 12:00 … 12:08 UTC, given in the team's time zone (Beijing, +08:00)
    minutes = rep["minutes"]
    assert [m["minute"][11:16] for m in minutes] == [f"20:0{i}" for i in range(9)]
    assert all(m["minute"].endswith("+08:00") for m in minutes)
    assert [m["online"] for m in minutes] == [3, 4, 3, 3, 3, 2, 3, 3, 2]
    assert [m["entries"] for m in minutes] == [3, 2, 0, 0, 0, 0, 1, 0, 0]
    assert [m["leaves"] for m in minutes] == [0, 0, 1, 0, 0, 1, 1, 0, 1]
    assert [m["gmv"] for m in minutes] == [
        "0.00",
        "0.00",
        "119.80",
        "0.00",
        "99.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
    ]
    assert [m["refunds"] for m in minutes][5] == "59.90"
    assert [m["comments"] for m in minutes] == [1, 0, 0, 0, 1, 0, 0, 0, 0]
    assert [m["product_clicks"] for m in minutes] == [0, 3, 0, 0, 0, 0, 0, 0, 0]
    assert [m["orders"] for m in minutes] == [0, 0, 2, 0, 1, 0, 0, 0, 0]
    assert minutes[3]["follows"] == 3 and minutes[3]["shares"] == 1

    # traffic and new vs returning (a watched last week's stream)
    assert rep["traffic_sources"] == [
        {"source": "feed", "viewers": 2, "share": 0.4},
        {"source": "follow", "viewers": 1, "share": 0.2},
        {"source": "ads", "viewers": 1, "share": 0.2},
        {"source": "unknown", "viewers": 1, "share": 0.2},
    ]
    assert (rep["new_viewers"], rep["returning_viewers"]) == (4, 1)
    nvr = rep["new_vs_returning"]
    assert nvr["returning_share"] == 0.2
    # new viewers with presence: b 320, c 370, d 540 → avg 410.00; none under 60 s
    assert nvr["new_viewer_retention"] == {
        "new_viewers_with_presence": 3,
        "left_within_seconds": 60,
        "left_early": 0,
        "left_early_share": 0.0,
        "avg_watch_seconds": 410.0,
    }

    # targets vs actuals
    assert rep["targets"] == [
        {
            "metric": "gmv",
            "target": "200.00",
            "actual": "218.80",
            "achievement": 1.094,
            "met": True,
        },
        {"metric": "viewers", "target": 10, "actual": 5, "achievement": 0.5, "met": False},
        {
            "metric": "conversion_rate",
            "target": 0.25,
            "actual": 0.4,
            "achievement": 1.6,
            "met": True,
        },
        {"metric": "new_followers", "target": 4, "actual": 2, "achievement": 0.5, "met": False},
    ]

    # Script segments [12:00:00,12:02:10) [12:02:10,12:05:00) [12:05,12:10) and
    # explanation windows, attributed by the second each event happened in. Events sit
    # seconds either side of the edges, so a per-minute attribution gets every one wrong:
    # a's order at 12:02:00 is 10 s before the Scarf segment, its payment at 12:02:10 on
    # the edge (inside), b's order 10 s after it.
    seg = [
        (
            s["title"],
            s["comments"],
            s["product_clicks"],
            s["add_to_cart"],
            s["orders"],
            s["paid_orders"],
            s["units_sold"],
            s["gmv"],
            s["online_start"],
            s["online_end"],
        )
        for s in rep["segments"]
    ]
    assert seg == [
        ("Opening", 1, 3, 2, 1, 0, 0, "0.00", 0, 3),
        ("Scarf", 1, 0, 0, 2, 2, 3, "218.80", 4, 3),
        ("Closing", 0, 0, 0, 0, 0, 0, "0.00", 3, 2),
    ]

    # P1 explained 12:01:15–12:03:30: a's click at 12:01:10 is 5 s early, b's at 12:01:20
    # counts. P2 12:03:30–12:04:15 (delisted): d's order at 12:04:10 counts, its payment
    # at 12:04:20 is 5 s late.
    ex = [
        (
            e["product_id"],
            e["duration_seconds"],
            e["product_clicks"],
            e["add_to_cart"],
            e["orders"],
            e["paid_orders"],
            e["units_sold"],
            e["gmv"],
        )
        for e in rep["explanations"]
    ]
    assert ex == [(b.p1, 135, 1, 2, 2, 1, 2, "119.80"), (b.p2, 45, 0, 0, 1, 0, 0, "0.00")]

    # incidents and alerts on one timeline
    assert [(t["kind"], t["type"], t["offset_seconds"]) for t in rep["timeline"]] == [
        ("incident", "technical", 180),
        ("alert", "online_drop", 330),
    ]

    # comparison with last week's stream (2 viewers, GMV 59.90, watch 100 + 200 s)
    cmp = rep["comparison"]
    assert cmp["stream_ids"] == [b.earlier_id]
    assert cmp["figures"]["viewers"] == {"value": 5, "median": 2.0, "change": 1.5}
    assert cmp["figures"]["gmv"] == {"value": "218.80", "median": "59.90", "change": 2.6528}
    assert cmp["figures"]["avg_watch_seconds"] == {
        "value": 342.0,
        "median": 150.0,
        "change": 1.28,
    }
    assert cmp["figures"]["aov"]["median"] == "59.90"
    # "no problems found" no longer hides missed targets (#16): viewers and followers
    # reached half their targets; GMV (109 %) and conversion (40 % of 25 %) were met
    assert [(d["code"], d["params"]["metric"]) for d in rep["diagnoses"]] == [
        ("target_shortfall", "metric.viewers"),
        ("target_shortfall", "metric.new_followers"),
    ]
    assert rep["diagnoses"][0]["evidence"] == {"target": 10, "actual": 5, "achievement": 0.5}


async def test_every_figure_of_the_report_is_in_the_metric_dictionary(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    rep = await _review(client, b.stream_id, b.headers)
    about = {"stream_id", "title", "status", "started_at", "ended_at", "generated_at"}
    assert set(rep) - about <= METRIC_KEYS, set(rep) - about - METRIC_KEYS
    assert set(rep) >= METRIC_KEYS, METRIC_KEYS - set(rep)


async def test_rollups_agree_with_a_scan_of_the_log(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    rep = await _review(client, b.stream_id, b.headers)
    state = await log_totals(session, b.stream_id)
    assert state.viewers == rep["viewers"]
    assert state.totals["peak_online"] == rep["peak_online"]
    assert state.online == rep["online_at_end"]
    for key in ("comments", "likes", "shares", "follows", "orders", "paid_orders", "units_sold"):
        assert state.totals[key] == rep[key], key
    watch = await viewer_watch_seconds(session, b.stream_id, at(10))
    assert sum(watch.values()) == rep["total_watch_seconds"]


async def test_review_roles(client: httpx.AsyncClient, session: AsyncSession, staff: Staff) -> None:
    b = await build(client, session, staff)
    for name, role, code in (
        ("rv_an", "analyst", 200),
        ("rv_host", "host", 200),
        ("rv_svc", "service", 403),
    ):
        headers = await staff.user(name, role)
        assert (
            await client.get(f"/api/v1/streams/{b.stream_id}/review", headers=headers)
        ).status_code == 403
        await staff.join(b.stream_id, name, role)
        r = await client.get(f"/api/v1/streams/{b.stream_id}/review", headers=headers)
        assert r.status_code == code, (role, r.text)
    assert (
        await client.get(f"/api/v1/streams/{b.stream_id}/review", headers=staff.admin)
    ).status_code == 200
    assert (await client.get(f"/api/v1/streams/{b.stream_id}/review")).status_code == 401
    assert (
        await client.get("/api/v1/streams/999999/review", headers=staff.admin)
    ).status_code == 404
    r = await client.get(
        f"/api/v1/streams/{b.stream_id}/review?compare_last=0", headers=staff.admin
    )
    assert r.status_code == 422


async def test_automatic_highlights_are_the_gmv_and_comment_peaks(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    r = await client.post(
        f"/api/v1/streams/{b.stream_id}/highlights",
        json={"at": at(6, 15).isoformat(), "note": "host laughs"},
        headers=b.headers,
    )
    assert r.status_code == 201
    marks = (
        await client.get(f"/api/v1/streams/{b.stream_id}/highlights", headers=b.headers)
    ).json()
    assert [(m["kind"], m["offset_seconds"], m["value"]) for m in marks] == [
        ("comment_peak", 0, "1"),
        ("gmv_peak", 120, "119.80"),
        ("comment_peak", 240, "1"),
        ("gmv_peak", 240, "99.00"),
        ("manual", 375, None),
    ]
    stream = await session.get(Stream, b.stream_id)
    assert stream is not None and stream.started_at == T0


async def test_rollup_review_equals_the_raw_scan_version(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    from app.services.review_from_log import raw_headline
    from app.services.review_report import headline

    b = await build(client, session, staff)
    stream = await session.get(Stream, b.stream_id)
    assert stream is not None
    fast, minute_rows = await headline(session, stream)
    raw, raw_products, raw_minutes = await raw_headline(session, stream)
    assert fast.figures() == raw.figures()
    assert fast.funnel() == raw.funnel()
    assert str(raw_products[b.p1]["gmv"]) == "119.80"
    assert {m.minute: m.gmv for m in minute_rows} == {m: v["gmv"] for m, v in raw_minutes.items()}


async def test_per_second_rollups_equal_the_migration_backfill(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    live = await per_second_rollups(session, b.stream_id)
    assert live == await backfilled_rollups(session, b.stream_id)
    seconds, products = live
    # a's order at 12:02:00 and payment of 119.80 (2 units) at 12:02:10, one row each
    assert (at(2, 0), 0, 0, 0, 1, 0, 0, Decimal("0.00")) in seconds
    assert (b.p1, at(2, 10), 0, 0, 0, 1, 2, Decimal("119.80")) in products
    # 2 comments, 3 clicks, 2 carts, 3 orders, 2 payments, each in a second of its own
    assert len(seconds) == 12 and len(products) == 10
