"""The review tells what really happened (#16): segments timed from when the segment
control started them (a segment that never ran is not shown with made-up figures), a
product clicked after it sold out is diagnosed, highlights stay inside the stream."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Alert, AlertLevel, SegmentKind
from tests.conftest import Staff
from tests.review.helpers import T0, at, control, log_events, make_product, make_stream, segment
from tests.review.scenario import ev


async def test_segments_as_run_sold_out_clicks_and_highlights_inside(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    ctl = await staff.user("asrun_ctl", "controller")
    cream = await make_product(session, "Cream", "10.00")
    # the stream "started" at 12:00:40: its first minute began 40 s earlier
    s = await make_stream(client, session, ctl, "As run", T0 + timedelta(seconds=40), 10)
    opening = segment(s.id, 1, "Opening", 0, 300, SegmentKind.opening)
    talk = segment(s.id, 2, "Cream talk", 300, 300, product_id=cream.id)
    never = segment(s.id, 3, "Never ran", 600, 300, SegmentKind.closing)
    session.add_all([opening, talk, never])
    await session.flush()
    # planned 12:00:40–12:05:40 for the opening; the host started it at 12:02:00
    session.add_all(
        [
            control(s.id, "segment", None, at(2), to_segment_id=opening.id),  # type: ignore[arg-type]
            control(s.id, "segment", cream.id, at(4), to_segment_id=talk.id),
        ]
    )
    session.add(
        Alert(
            stream_id=s.id,
            kind="sold_out",
            key=f"sold_out:{cream.id}",
            level=AlertLevel.critical,
            message="已售罄",
            data={"product_id": cream.id, "stock_left": 0, "allotted": 1},
            created_at=at(5),
            resolved_at=None,
        )
    )
    events = [ev("viewer_join", f"v{i}", at(0, 45), source="feed") for i in range(8)]
    events += [ev("order_created", "v0", at(0, 50), cream.id, 1, "10.00")]
    events += [ev("order_paid", "v0", at(0, 55), cream.id, 1, "10.00")]
    events += [ev("product_click", f"v{i}", at(5, 10 + i), cream.id) for i in range(6)]
    await log_events(session, s.id, events)
    await session.commit()

    r = await client.get(f"/api/v1/streams/{s.id}/review", headers=ctl)
    assert r.status_code == 200, r.text
    rep = r.json()
    segs = [
        (x["title"], x["start"][11:19], x["end"][11:19], x["timed_by"]) for x in rep["segments"]
    ]
    assert segs == [
        ("Opening", "12:02:00", "12:04:00", "segment_control"),
        ("Cream talk", "12:04:00", "12:10:40", "segment_control"),
    ]
    sold = [d for d in rep["diagnoses"] if d["code"] == "sold_out_while_clicked"]
    assert len(sold) == 1 and sold[0]["product_id"] == cream.id
    assert sold[0]["evidence"]["product_clicks_after_sold_out"] == 6
    assert sold[0]["params"] == {"name": "Cream", "clicks": 6}

    r = await client.get(f"/api/v1/streams/{s.id}/highlights", headers=ctl)
    assert r.status_code == 200, r.text
    marks = r.json()
    marks = marks.get("highlights", marks) if isinstance(marks, dict) else marks
    peaks = [m for m in marks if m["kind"] == "gmv_peak"]
    assert peaks, marks
    assert all(m["offset_seconds"] >= 0 for m in marks), marks
    assert peaks[0]["offset_seconds"] == 0  # the 12:00 minute, clamped to the start
