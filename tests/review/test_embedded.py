"""The review on the embedded deployment (SQLite + in-process broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from app.models import SegmentKind
from tests.conftest import TEST_PASSWORD, bearer
from tests.review.helpers import (
    backfilled_rollups,
    control,
    ended_stream,
    log_events,
    per_second_rollups,
    segment,
)
from tests.review.scenario import ev

pytestmark = pytest.mark.embedded

T = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


async def test_review_on_sqlite(embedded_app: FastAPI, embedded_client: httpx.AsyncClient) -> None:
    r = await embedded_client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
    )
    admin = bearer(r.json()["access_token"])
    async with embedded_app.state.sessionmaker() as s:
        sid = await ended_stream(s, "embedded", T, 5)
        await log_events(
            s,
            sid,
            [
                ev("viewer_join", "a", T, source="feed"),
                ev("viewer_join", "b", T + timedelta(seconds=30)),
                ev("order_paid", "a", T + timedelta(minutes=1), 7, 1, "30.00"),
                ev("viewer_leave", "b", T + timedelta(minutes=2, seconds=30)),
            ],
        )
        await log_events(s, sid, [ev("viewer_join", "b", T + timedelta(minutes=3))])
        await s.commit()
        seconds = await per_second_rollups(s, sid)
        assert seconds == await backfilled_rollups(s, sid)
        s.add(segment(sid, 1, "Opening", 0, 59, SegmentKind.opening))
        s.add(control(sid, "explain", 7, T))
        await s.commit()
    assert seconds[1] == {(7, T + timedelta(minutes=1), 0, 0, 0, 1, 1, Decimal("30.00"))}
    r = await embedded_client.get(f"/api/v1/streams/{sid}/review", headers=admin)
    assert r.status_code == 200, r.text
    rep = r.json()
    # a: 300 s (open to the end); b: 120 s + 120 s (open) → 540 s
    assert (rep["viewers"], rep["entries"], rep["peak_online"]) == (2, 3, 2)
    assert rep["total_watch_seconds"] == 540.0 and rep["avg_watch_seconds"] == 270.0
    assert rep["gmv"] == "30.00" and rep["gpm"] == "15000.00" and rep["aov"] == "30.00"
    assert [m["online"] for m in rep["minutes"]] == [2, 2, 1, 2]
    assert rep["products"][0]["gmv"] == "30.00"
    assert Decimal(rep["net_gmv"]) == Decimal("30.00")
    # the payment at 12:01:00 is after the 59-second opening, inside the explanation
    assert [(x["paid_orders"], x["gmv"]) for x in rep["segments"]] == [(0, "0.00")]
    assert [(x["paid_orders"], x["gmv"]) for x in rep["explanations"]] == [(1, "30.00")]
