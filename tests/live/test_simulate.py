"""`controlroom simulate` drives a real server; the server's numbers match what it sent."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

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
