"""`controlroom simulate` drives a real server; the server's numbers match what it sent."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app import simulate
from app.simulate import run_simulation
from tests.live.helpers import add_product, live_stream


async def test_simulated_audience_lands_in_the_metrics(served: tuple[FastAPI, str]) -> None:
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, key, admin = await live_stream(app, client)
        pid = await add_product(app, stream_id, f"SIM-{stream_id}", allotted=1000)
        summary = await run_simulation(
            stream_id,
            f"http://{addr}",
            key,
            viewers=80,
            rate=1500,
            duration=2.0,
            batch_interval=0.25,
            seed=7,
            quiet=True,
        )
        assert summary["errors"] == {} and summary["duplicates"] == 0, summary
        # How many events fit in 2 s depends on the machine; at least one batch (375).
        assert summary["accepted"] == summary["events"] >= 375
        m = (await client.get(f"/api/v1/streams/{stream_id}/metrics", headers=admin)).json()
    assert m["online"] == summary["online"] > 0
    assert m["orders"] == summary["orders"] and m["paid_orders"] == summary["paid_orders"]
    assert m["comments"] == summary["comments"] and m["gmv"] == summary["gmv"]
    product = next(p for p in m["products"] if p["product_id"] == pid)
    assert product["clicks"] > 0 and m["likes"] > m["shares"]


async def test_simulated_audience_enters_an_open_lucky_bag(served: tuple[FastAPI, str]) -> None:
    """The storefront lists the open lucky bag; the audience comments its keyword, and
    those commenters are the lottery's entrants."""
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, key, admin = await live_stream(app, client)
        await add_product(app, stream_id, f"LB-{stream_id}", allotted=1000)
        r = await client.post(
            f"/api/v1/streams/{stream_id}/lotteries",
            headers=admin,
            json={
                "prize": "保温杯",
                "winners_count": 1,
                "condition": "comment",
                "keyword": "想要福袋",
                "duration_seconds": 600,
            },
        )
        assert r.status_code == 201, r.text
        store = (await client.get(f"/api/v1/streams/{stream_id}/storefront")).json()
        assert [x["keyword"] for x in store["lotteries"]] == ["想要福袋"]
        summary = await run_simulation(
            stream_id, f"http://{addr}", key, 60, 1200, 1.5, batch_interval=0.25, seed=3, quiet=True
        )
        assert summary["errors"] == {}, summary
        assert summary["lottery_keyword_comments"] > 0, summary
        lottery = r.json()["id"]
        r = await client.post(
            f"/api/v1/streams/{stream_id}/lotteries/{lottery}/draw", headers=admin
        )
        assert r.status_code == 200, r.text
        r = await client.get(f"/api/v1/streams/{stream_id}/lotteries/{lottery}/eligible")
    assert r.status_code == 200, r.text
    # the public list shows entries (salted hashes), not the raw ids (issue #19)
    assert len(r.json()["entries"]) > 0, r.json()


async def test_unreachable_server_is_one_line_after_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulate, "RETRY_DELAYS", (0.01, 0.02))
    with pytest.raises(simulate.SimulationError) as caught:
        # Port 9 (discard) on loopback: nothing listens there.
        await run_simulation(1, "http://127.0.0.1:9", "k", 10, 100, 2.0, quiet=True)
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1:9" in message and "after 3 tries" in message
