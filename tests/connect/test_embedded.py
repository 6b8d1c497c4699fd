"""The same connections in embedded mode (SQLite + in-process broker): a webhook gets
its actions in order after failures, a mapped platform payload lands in the metrics,
and a rehearsal replays a log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.main import create_app
from app.migrate import upgrade
from app.models import Product, StreamStatus
from app.services.webhooks import verify
from tests.conftest import make_settings
from tests.connect.conftest import Receiver
from tests.controls.conftest import Crew, add_lineup, make_stream, set_status

pytestmark = pytest.mark.embedded
SAMPLES = Path(__file__).resolve().parents[2] / "app" / "connectors" / "mappings" / "samples"


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        tmp_path,
        webhook_allow_private=True,
        webhook_backoff_seconds=0.05,
        webhook_poll_seconds=0.05,
        webhook_timeout_seconds=1.0,
    )
    assert settings.is_sqlite and settings.redis_url is None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_embedded_webhooks_connector_and_rehearsal(lite: FastAPI, receiver: Receiver) -> None:
    maker = lite.state.sessionmaker
    crew = await Crew(maker, lite.state.settings).setup()
    ctl = await crew.user("ctl", "controller")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lite), base_url="http://t") as c:
        sid = await make_stream(c, ctl)
        pids = await add_lineup(maker, sid, n=2)
        await set_status(maker, sid, StreamStatus.live)
        receiver.answer = lambda n: 503 if n < 2 else 200
        r = await c.post(
            f"/api/v1/streams/{sid}/webhooks",
            json={"url": receiver.url, "events": ["action.*"]},
            headers=ctl,
        )
        secret = r.json()["secret"]
        for path in ("list", "explain", "delist"):
            assert (
                await c.post(f"/api/v1/streams/{sid}/lineup/{pids[0]}/{path}", headers=ctl)
            ).status_code == 200
        deadline = time.monotonic() + 10
        while len(receiver.accepted()) < 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        got = receiver.accepted()
        assert [g.json["data"]["action"] for g in got] == ["list", "explain", "delist"]
        assert len({g.headers["X-LCR-Delivery"] for g in got}) == 3
        assert all(
            verify(secret, g.headers["X-LCR-Timestamp"], g.body, g.headers["X-LCR-Signature"])
            for g in got
        )

        # A Shopify order through a connector.
        r = await c.post(
            f"/api/v1/streams/{sid}/connectors",
            json={"name": "店", "mapping": "shopify.orders", "secret": "s3"},
            headers=ctl,
        )
        inbound = r.json()["inbound_path"]
        async with maker() as s:
            skus = (
                await s.scalars(
                    select(Product.sku).where(Product.id.in_(pids)).order_by(Product.id)
                )
            ).all()
        sample = json.loads((SAMPLES / "shopify_orders.json").read_text())[0]
        raw = (
            orjson.dumps(sample["payload"])
            .replace(b"LCR-DEMO-1", skus[0].encode())
            .replace(b"LCR-DEMO-2", skus[1].encode())
        )
        sig = base64.b64encode(hmac.new(b"s3", raw, hashlib.sha256).digest()).decode()
        r = await c.post(
            inbound, content=raw, headers={**sample["headers"], "X-Shopify-Hmac-Sha256": sig}
        )
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
        m = (await c.get(f"/api/v1/streams/{sid}/metrics", headers=ctl)).json()
        assert m["orders"] == 2

        # A rehearsal of the ended stream replays its log (the two orders' events).
        await set_status(maker, sid, StreamStatus.ended)
        r = await c.post(f"/api/v1/streams/{sid}/rehearsals", json={"start": True}, headers=ctl)
        rid = r.json()["id"]
        r = await c.post(
            f"/api/v1/streams/{rid}/replay",
            json={"source_stream_id": sid, "speed": 20},
            headers=ctl,
        )
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 10
        while (await c.get(f"/api/v1/streams/{rid}/replay", headers=ctl)).json()[
            "state"
        ] == "running":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        view = (await c.get(f"/api/v1/streams/{rid}/replay", headers=ctl)).json()
        assert view["state"] == "done" and view["sent"] == view["total"] >= 2, view
        rm = (await c.get(f"/api/v1/streams/{rid}/metrics", headers=ctl)).json()
        assert rm["orders"] == 2
