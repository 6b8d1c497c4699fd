"""The review of a stream fed through the real ingest API (POST /streams/{id}/events)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Stream, StreamStatus
from tests.conftest import Staff
from tests.review.helpers import T0, at, make_stream


async def test_review_of_events_posted_through_the_ingest_api(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    ctl = await staff.user("ing_ctl", "controller")
    s = await make_stream(client, session, ctl, "Ingested", T0)
    s.status = StreamStatus.live
    s.ended_at = None
    await session.commit()
    r = await client.post(f"/api/v1/streams/{s.id}/ingest-keys", headers=ctl)
    assert r.status_code == 201, r.text
    key = {"X-Ingest-Key": r.json()["key"]}
    events = [
        {
            "type": "viewer_join",
            "user_id": "a",
            "event_id": "1",
            "ts": at(0).isoformat(),
            "source": "feed",
        },
        {"type": "viewer_join", "user_id": "b", "event_id": "2", "ts": at(0, 30).isoformat()},
        {
            "type": "product_click",
            "user_id": "a",
            "event_id": "3",
            "ts": at(1).isoformat(),
            "product_id": 1,
        },
        {
            "type": "order_paid",
            "user_id": "a",
            "event_id": "4",
            "ts": at(2).isoformat(),
            "product_id": 1,
            "quantity": 2,
            "amount": "100.00",
        },
        {"type": "viewer_leave", "user_id": "b", "event_id": "5", "ts": at(3).isoformat()},
    ]
    r = await client.post(f"/api/v1/streams/{s.id}/events", json={"events": events}, headers=key)
    assert r.status_code == 202, r.text
    # a retry of the same batch changes nothing
    r = await client.post(f"/api/v1/streams/{s.id}/events", json={"events": events}, headers=key)
    assert r.json()["duplicates"] == 5
    stream = await session.get(Stream, s.id)
    assert stream is not None
    stream.status = StreamStatus.ended
    stream.ended_at = at(10)
    await session.commit()
    rep = (await client.get(f"/api/v1/streams/{s.id}/review", headers=ctl)).json()
    # a: 600 s (open to the end), b: 150 s → 750 s over 2 viewers
    assert (rep["viewers"], rep["entries"], rep["peak_online"]) == (2, 2, 2)
    assert rep["avg_watch_seconds"] == 375.0
    assert (rep["gmv"], rep["paid_orders"], rep["units_sold"]) == ("100.00", 1, 2)
    assert rep["gpm"] == "50000.00" and rep["aov"] == "100.00"
    assert rep["funnel"][1] == {"step": "product_clicks", "count": 1, "viewers": 1, "rate": 0.5}
