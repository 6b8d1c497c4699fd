"""The live controls on the embedded deployment (SQLite + in-process broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.models import ScriptSegment, SegmentKind, StreamStatus
from tests.conftest import bearer, login
from tests.controls.conftest import (
    _listen,
    add_lineup,
    make_stream,
    set_status,
)

pytestmark = pytest.mark.embedded


async def test_controls_segments_and_alerts_work_embedded(
    embedded_app: FastAPI, embedded_client: httpx.AsyncClient
) -> None:
    client = embedded_client
    admin = bearer(await login(client, "admin"))
    sid = await make_stream(client, admin, "本地场")
    maker = embedded_app.state.sessionmaker
    p1, p2, _ = await add_lineup(maker, sid, stock=20, sold=15)
    async with maker() as s:
        s.add_all(
            ScriptSegment(
                stream_id=sid,
                position=i,
                kind=SegmentKind.product,
                title=f"段{i}",
                start_offset_seconds=i * 60,
                duration_seconds=60,
            )
            for i in (1, 2)
        )
        await s.commit()
    await set_status(maker, sid, StreamStatus.live)
    base = f"/api/v1/streams/{sid}"
    async with _listen(embedded_app, sid) as events:
        assert (await client.post(f"{base}/lineup/{p1}/list", headers=admin)).status_code == 200
        await client.post(f"{base}/lineup/{p1}/explain", headers=admin)
        r = await client.post(f"{base}/lineup/{p2}/explain", headers=admin)
        assert r.json()["explaining"] is True
        r = await client.post(
            f"{base}/lineup/{p1}/stock", json={"delta": -6, "reason": "x"}, headers=admin
        )
        assert r.status_code == 409 and r.json()["code"] == "below_sold"
        r = await client.post(
            f"{base}/lineup/{p1}/stock", json={"delta": -5, "reason": "破损"}, headers=admin
        )
        assert r.status_code == 200 and r.json()["stock_left"] == 0
        r = await client.post(f"{base}/segments/next", headers=admin)
        assert r.json()["current"]["title"] == "段1"
        r = await client.post(f"{base}/cues", json={"text": "讲尺码"}, headers=admin)
        assert r.status_code == 201
        await events.wait_for("cue")
    assert events.types() == [
        "product.listed",
        "alert",  # listed with 5 of 20 left: stock low (≤ 10 units)
        "product.explaining",
        "product.explaining",
        "stock.changed",
        "alert",  # sold out
        "segment.changed",
        "cue",
    ]
    assert [m["data"]["kind"] for m in events.of("alert")] == ["stock_low", "sold_out"]
    alerts = (await client.get(f"{base}/alerts?open=true", headers=admin)).json()
    assert sorted(a["kind"] for a in alerts) == ["sold_out", "stock_low"]
    seqs = [m["seq"] for m in events.messages]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_lottery_draws_and_verifies_embedded(
    embedded_app: FastAPI, embedded_client: httpx.AsyncClient
) -> None:
    from tests.controls.test_lottery import log_events, reference_winners

    client = embedded_client
    admin = bearer(await login(client, "admin"))
    sid = await make_stream(client, admin, "本地福袋")
    maker = embedded_app.state.sessionmaker
    await set_status(maker, sid, StreamStatus.live)
    base = f"/api/v1/streams/{sid}/lotteries"
    body = {"prize": "红包", "winners_count": 2, "condition": "present", "duration_seconds": 60}
    lottery = (await client.post(base, json=body, headers=admin)).json()
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    await log_events(
        maker,
        sid,
        [("viewer_join", f"v{i}", t0 + timedelta(seconds=i), None) for i in range(6)]
        + [("viewer_leave", "v0", t0 + timedelta(seconds=30), None)],
    )
    drawn = (await client.post(f"{base}/{lottery['id']}/draw", headers=admin)).json()
    eligible = [f"v{i}" for i in range(1, 6)]
    assert drawn["eligible_count"] == 5
    assert drawn["winners"] == reference_winners(drawn["seed"], eligible, 2)
    check = (await client.get(f"{base}/{lottery['id']}/verify")).json()
    assert check["valid"] is True
