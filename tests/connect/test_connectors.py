"""Inbound connectors: platform payloads verified, mapped by the shipped mappings and
ingested on the one ingest path (real PostgreSQL + Redis, issue 18)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import Order, Product, StreamEvent
from app.services.connectors.mapping import MAPPINGS_DIR, load_mapping
from app.services.connectors.offline import load_samples, run_samples
from tests.connect.conftest import LiveRoom

SAMPLES = MAPPINGS_DIR / "samples"
SHIPPED = sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml"))


def shopify_sign(secret: str, body: bytes) -> str:
    """Shopify's documented recipe: base64 of HMAC-SHA256(app secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def douyin_sign(secret: str, body: bytes) -> str:
    """抖音开放平台's documented recipe: sha1(client secret + raw body), hex."""
    return hashlib.sha1(secret.encode() + body).hexdigest()


def sample(name: str, index: int) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"{name}.json").read_text())[index])


async def connect(
    client: httpx.AsyncClient, room: LiveRoom, mapping: str, secret: str
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/connectors",
        json={"name": "主店", "mapping": mapping, "secret": secret},
        headers=room.ctl,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_mapping_turns_its_samples_into_the_expected_events(name: str) -> None:
    mapping = load_mapping(MAPPINGS_DIR / f"{name}.yaml")
    samples = load_samples(SAMPLES / f"{name}.json")
    assert len(samples) >= 3 and any(s.get("expect") for s in samples)
    results = run_samples(mapping, samples)
    assert [(r.name, r.ok, r.message) for r in results if not r.ok] == []
    assert mapping.docs, "a shipped mapping cites its public documentation"


def test_cli_connector_test_passes_and_fails(tmp_path: Path) -> None:
    exe = [sys.executable, "-m", "app.cli"]
    for name in SHIPPED:
        done = subprocess.run(
            [
                *exe,
                "connector",
                "test",
                str(MAPPINGS_DIR / f"{name}.yaml"),
                str(SAMPLES / f"{name}.json"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert " 0 failed" in done.stdout
    wrong = json.loads((SAMPLES / "shopify_orders.json").read_text())
    wrong[0]["expect"][0]["quantity"] = 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(wrong))
    done = subprocess.run(
        [*exe, "connector", "test", "shopify.orders", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout
    assert "FAIL" in done.stdout and "1 failed" in done.stdout
    missing = subprocess.run(
        [*exe, "connector", "test", "no.such.mapping", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "no mapping file" in missing.stderr


async def test_shopify_orders_through_the_one_ingest_path(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    maker = connect_app.state.sessionmaker
    sid = live_room.stream_id
    async with maker() as s:
        skus = {
            pid: sku
            for pid, sku in (
                await s.execute(
                    select(Product.id, Product.sku).where(Product.id.in_(live_room.product_ids))
                )
            ).all()
        }
    p1, p2 = live_room.product_ids[:2]
    r = await cclient.post(
        f"/api/v1/streams/{sid}/connectors",
        json={"name": "x", "mapping": "nope"},
        headers=live_room.ctl,
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_mapping"
    r = await cclient.post(
        f"/api/v1/streams/{sid}/connectors",
        json={"name": "x", "mapping": "shopify.orders"},
        headers=live_room.analyst,
    )
    assert r.status_code == 403
    secret = "shpss_test_secret"
    conn = await connect(cclient, live_room, "shopify.orders", secret)
    url = conn["inbound_path"]

    def payload(index: int) -> tuple[bytes, dict[str, str]]:
        s = sample("shopify_orders", index)
        raw = orjson.dumps(s["payload"]).replace(b"LCR-DEMO-1", skus[p1].encode())
        raw = raw.replace(b"LCR-DEMO-2", skus[p2].encode())
        return raw, dict(s["headers"])

    created, headers = payload(0)
    signed = {**headers, "X-Shopify-Hmac-Sha256": shopify_sign(secret, created)}
    r = await cclient.post(url, content=created, headers=signed)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2 and r.json()["duplicates"] == 0
    again = await cclient.post(url, content=created, headers=signed)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 2
    paid, headers = payload(1)
    r = await cclient.post(
        url, content=paid, headers={**headers, "X-Shopify-Hmac-Sha256": shopify_sign(secret, paid)}
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    async with maker() as s:
        orders = (
            await s.execute(
                select(Order.external_id, Order.product_id, Order.quantity, Order.status)
                .where(Order.stream_id == sid, Order.source == "connector")
                .order_by(Order.external_id)
            )
        ).all()
    assert [(o.product_id, o.quantity, str(o.status)) for o in orders] == [
        (p2, 2, "created"),
        (p1, 1, "paid"),
    ]
    metrics = (await cclient.get(f"/api/v1/streams/{sid}/metrics", headers=live_room.ctl)).json()
    assert metrics["gmv"] == "199.00", metrics
    # The order list (and the export) say which connector reported them.
    listed = (await cclient.get(f"/api/v1/streams/{sid}/orders", headers=live_room.ctl)).json()
    assert {(o["source"], o["channel"]) for o in listed} == {("connector", "主店")}

    # Forged: the body changed after signing (a bigger quantity) → 401, nothing applied.
    forged = created.replace(b'"quantity":2', b'"quantity":9')
    r = await cclient.post(url, content=forged, headers=signed)
    assert r.status_code == 401 and r.json()["outcome"] == "rejected"
    r = await cclient.post(url, content=created, headers=headers)  # no signature at all
    assert r.status_code == 401
    # A topic no rule maps: 200 (the platform must not retry), kept for inspection.
    other, headers = payload(3)
    r = await cclient.post(
        url,
        content=other,
        headers={**headers, "X-Shopify-Hmac-Sha256": shopify_sign(secret, other)},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "unmapped"
    # An SKU that is not in the lineup: 422, kept, nothing applied.
    unknown = created.replace(skus[p1].encode(), b"NOT-IN-LINEUP").replace(
        b"8209829119", b"9209829119"
    )
    r = await cclient.post(
        url,
        content=unknown,
        headers={
            **headers,
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": shopify_sign(secret, unknown),
        },
    )
    assert r.status_code == 422 and "NOT-IN-LINEUP" in r.json()["reason"], r.text
    notjson = b"{not json"
    r = await cclient.post(
        url, content=notjson, headers={"X-Shopify-Hmac-Sha256": shopify_sign(secret, notjson)}
    )
    assert r.status_code == 400

    kept = (
        await cclient.get(
            f"/api/v1/streams/{sid}/connectors/{conn['id']}/payloads", headers=live_room.ctl
        )
    ).json()
    outcomes = [k["outcome"] for k in kept]
    assert outcomes == [
        "rejected",
        "invalid",
        "unmapped",
        "rejected",
        "rejected",
        "mapped",
        "mapped",
        "mapped",
    ]
    assert (
        kept[2]["body"] == other.decode()
        and kept[2]["headers"]["x-shopify-topic"] == "products/update"
    )
    assert kept[-1]["body"] is None  # mapped payloads are not kept
    r = await cclient.get(
        f"/api/v1/streams/{sid}/connectors/{conn['id']}/payloads", headers=live_room.analyst
    )
    assert r.status_code == 403
    async with maker() as s:
        n_orders = await s.scalar(
            select(func.count()).select_from(Order).where(Order.stream_id == sid)
        )
    assert n_orders == 2  # nothing rejected or invalid was applied

    status = (await cclient.get(f"/api/v1/streams/{sid}/connectors", headers=live_room.ctl)).json()
    st = status[0]
    assert st["received_15m"] == 8 and st["errors_15m"] == 5
    assert st["error_rate"] == pytest.approx(5 / 8, abs=1e-4)
    assert st["state"] == "failing"
    assert st["ingest_key_prefix"] == conn["ingest_key_prefix"] and not st["ingest_key_revoked"]
    assert st["lag_ms"] is not None and st["last_event_at"] is not None
    assert st["last_error"].startswith("body is not valid JSON")

    # Revoking the connector's ingest key stops it.
    r = await cclient.delete(
        f"/api/v1/streams/{sid}/ingest-keys/{conn['ingest_key_id']}", headers=live_room.ctl
    )
    assert r.status_code == 200
    r = await cclient.post(
        url,
        content=paid,
        headers={
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Hmac-Sha256": shopify_sign(secret, paid),
        },
    )
    assert r.status_code == 401 and "revoked" in r.json()["reason"]
    status = (await cclient.get(f"/api/v1/streams/{sid}/connectors", headers=live_room.ctl)).json()
    assert status[0]["state"] == "key_revoked"


async def test_douyin_challenge_payment_stale_and_forged(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    maker = connect_app.state.sessionmaker
    sid = live_room.stream_id
    secret = "douyin-client-secret"
    conn = await connect(cclient, live_room, "douyin.life_orders", secret)
    url = conn["inbound_path"]
    challenge = orjson.dumps(sample("douyin_life_orders", 0)["payload"])
    r = await cclient.post(
        url, content=challenge, headers={"X-Douyin-Signature": douyin_sign(secret, challenge)}
    )
    assert r.status_code == 200 and r.json() == {"challenge": 12345}

    def paid(msg_time: int, order_id: str) -> bytes:
        s = sample("douyin_life_orders", 1)["payload"]
        content = json.loads(s["content"])
        content["msg_time"] = msg_time
        content["order"]["order_id"] = order_id
        content["order"]["pay_time"] = msg_time
        s["content"] = json.dumps(content)
        return orjson.dumps(s)

    fresh = paid(int(time.time()) - 5, "1080000000000000777")
    r = await cclient.post(
        url, content=fresh, headers={"X-Douyin-Signature": douyin_sign(secret, fresh)}
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    stale = paid(int(time.time()) - 2 * 86400, "1080000000000000778")
    r = await cclient.post(
        url, content=stale, headers={"X-Douyin-Signature": douyin_sign(secret, stale)}
    )
    assert r.status_code == 401 and r.json()["reason"].startswith("stale"), r.text
    forged = fresh.replace(b"9990", b"1")
    r = await cclient.post(
        url, content=forged, headers={"X-Douyin-Signature": douyin_sign(secret, fresh)}
    )
    assert r.status_code == 401
    wrong_key = paid(int(time.time()), "1080000000000000779")
    r = await cclient.post(
        url, content=wrong_key, headers={"X-Douyin-Signature": douyin_sign("other", wrong_key)}
    )
    assert r.status_code == 401
    async with maker() as s:
        rows = (
            await s.execute(
                select(StreamEvent.type, StreamEvent.event_id, StreamEvent.viewer_id).where(
                    StreamEvent.stream_id == sid
                )
            )
        ).all()
    assert [(r.type, r.event_id) for r in rows] == [
        ("order_paid", "douyin:1080000000000000777:pay_success")
    ]
    metrics = (await cclient.get(f"/api/v1/streams/{sid}/metrics", headers=live_room.ctl)).json()
    assert metrics["gmv"] == "99.90"
    status = (await cclient.get(f"/api/v1/streams/{sid}/connectors", headers=live_room.ctl)).json()
    assert status[0]["lag_ms"] >= 5000 and status[0]["received_15m"] == 5


async def test_unknown_connector_and_stream_not_live(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    from app.models import StreamStatus
    from tests.controls.conftest import set_status

    sid = live_room.stream_id
    r = await cclient.post(f"/api/v1/streams/{sid}/connectors/999999/inbound", content=b"{}")
    assert r.status_code == 404 and r.json()["code"] == "connector_not_found"
    conn = await connect(cclient, live_room, "douyin.life_orders", "s")
    await set_status(connect_app.state.sessionmaker, sid, StreamStatus.ended)
    body = orjson.dumps(sample("douyin_life_orders", 1)["payload"]).replace(
        b"1796486400", str(int(time.time())).encode()
    )
    r = await cclient.post(
        conn["inbound_path"], content=body, headers={"X-Douyin-Signature": douyin_sign("s", body)}
    )
    assert r.status_code == 409 and r.json()["outcome"] == "rejected", r.text


async def test_odd_bodies_never_fail_the_server_and_a_quiet_feed_turns_stale(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    from datetime import timedelta

    from app.db import utcnow
    from app.services.connectors import service

    secret = "odd"
    conn = await connect(cclient, live_room, "douyin.life_orders", secret)
    url = conn["inbound_path"]
    deep = b"[" * 200 + b"]" * 200
    bodies = [
        b"",
        b"null",
        b"[]",
        b"42",
        b'"text"',
        deep,
        b'{"event": "life_trade_order_notify", "content": "not json"}',
        b'{"event": "life_trade_order_notify", "content": 7}',
        b'{"event": "life_trade_order_notify", "content": "{\\"action\\": \\"pay_success\\"}"}',
        b'{"event": "life_trade_order_notify", "from_user_id": "u", "content": '
        b'"{\\"action\\": \\"pay_success\\", \\"order\\": {\\"order_id\\": \\"1\\", '
        b'\\"pay_amount\\": \\"lots\\"}}"}',
        '{"event": "verify_webhook", "content": {"challenge": "挑战"}}'.encode(),
    ]
    for body in bodies:
        r = await cclient.post(
            url, content=body, headers={"X-Douyin-Signature": douyin_sign(secret, body)}
        )
        assert r.status_code < 500, (body[:60], r.status_code, r.text)
        assert r.status_code in (200, 400, 422), (body[:60], r.text)
    kept = (
        await cclient.get(
            f"/api/v1/streams/{live_room.stream_id}/connectors/{conn['id']}/payloads",
            params={"limit": 50},
            headers=live_room.ctl,
        )
    ).json()
    assert len(kept) == len(bodies)
    # A healthy feed: ok now; with nothing new for over a minute while live: stale.
    good = await connect(cclient, live_room, "douyin.life_orders", "good")
    payload = sample("douyin_life_orders", 1)["payload"]
    content = json.loads(payload["content"])
    content["msg_time"] = int(time.time())
    payload["content"] = json.dumps(content)
    body = orjson.dumps(payload)
    r = await cclient.post(
        good["inbound_path"],
        content=body,
        headers={"X-Douyin-Signature": douyin_sign("good", body)},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    async with connect_app.state.sessionmaker() as s:
        now = utcnow()
        states = {c["id"]: c for c in await service.status(s, live_room.stream_id, now)}
        later = {
            c["id"]: c
            for c in await service.status(s, live_room.stream_id, now + timedelta(seconds=61))
        }
    assert states[good["id"]]["state"] == "ok" and later[good["id"]]["state"] == "stale"
    assert states[conn["id"]]["state"] == "failing"
    assert states[conn["id"]]["received_15m"] == len(bodies)


async def test_lag_is_honest_when_the_platforms_clock_is_ahead(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    """A platform whose clock runs 30 s ahead stamps its events after we receive them:
    the skew is flagged and the lag corrected by it, not shown as 0."""
    from datetime import timedelta

    from app.db import utcnow
    from app.services.connectors import service

    secret = "ahead"
    conn = await connect(cclient, live_room, "douyin.life_orders", secret)

    async def pay(order_id: str, platform_now: int) -> None:
        payload = sample("douyin_life_orders", 1)["payload"]
        content = json.loads(payload["content"])
        content["msg_time"] = content["order"]["pay_time"] = platform_now
        content["order"]["order_id"] = order_id
        payload["content"] = json.dumps(content)
        body = orjson.dumps(payload)
        r = await cclient.post(
            conn["inbound_path"],
            content=body,
            headers={"X-Douyin-Signature": douyin_sign(secret, body)},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text

    async def status(at: Any = None) -> dict[str, Any]:
        async with connect_app.state.sessionmaker() as s:
            found = await service.status(s, live_room.stream_id, at)
        return next(c for c in found if c["id"] == conn["id"])

    # Paid "now" by the platform's clock, which is 30 s ahead: no lag, 30 s of skew.
    await pay("1080000000000000901", int(time.time()) + 30)
    first = await status()
    assert 29_000 <= first["clock_skew_ms"] <= 30_000, first
    assert first["lag_ms"] == 0
    # Paid 5 s ago by the platform's clock: still stamped 25 s after our time, yet 5 s late.
    await pay("1080000000000000902", int(time.time()) + 25)
    second = await status()
    assert 4_000 <= second["lag_ms"] <= 6_500, second
    assert second["clock_skew_ms"] == first["clock_skew_ms"]
    # Not seen again for the status window: no longer flagged.
    later = await status(utcnow() + timedelta(minutes=16))
    assert later["clock_skew_ms"] is None
    # A second of jitter is no skew.
    conn = await connect(cclient, live_room, "douyin.life_orders", secret)
    await pay("1080000000000000903", int(time.time()) + 1)
    jitter = await status()
    assert jitter["clock_skew_ms"] is None and jitter["lag_ms"] == 0


def tiktok_sign(app_key: str, secret: str, body: bytes) -> str:
    """TikTok Shop's documented recipe: hex HMAC-SHA256(app secret, app key + raw body)."""
    return hmac.new(secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def test_tiktok_shop_signature_matches_the_documentations_example() -> None:
    """The webhooks overview's worked example: app key abcdef, secret 123, this exact body."""
    from app.services.connectors.mapping import signature_ok

    mapping = load_mapping(MAPPINGS_DIR / "tiktok_shop_orders.yaml")
    body = (
        b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
        b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
        b'"order_status":"UNPAID","update_time":1718305585}}'
    )
    documented = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    assert tiktok_sign("abcdef", "123", body) == documented
    params = {"app_key": "abcdef"}
    assert signature_ok(mapping, "123", body, {"Authorization": documented}, params)
    assert not signature_ok(mapping, "123", body + b" ", {"Authorization": documented}, params)
    assert not signature_ok(mapping, "123", body, {"Authorization": documented}, {"app_key": "x"})
    assert not signature_ok(mapping, "123", body, {}, params)


async def test_tiktok_shop_order_notices_through_a_connector(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    sid = live_room.stream_id
    listed = (await cclient.get("/api/v1/connector-mappings", headers=live_room.ctl)).json()
    assert {m["name"]: m["params"] for m in listed}["tiktok_shop.orders"] == ["app_key"]
    r = await cclient.post(
        f"/api/v1/streams/{sid}/connectors",
        json={"name": "TikTok Shop", "mapping": "tiktok_shop.orders", "secret": "tts-secret"},
        headers=live_room.ctl,
    )
    assert r.status_code == 422 and r.json()["code"] == "mapping_params_missing", r.text
    assert r.json()["message"] == "该映射需要填写参数：app_key"
    r = await cclient.post(
        f"/api/v1/streams/{sid}/connectors",
        json={
            "name": "TikTok Shop",
            "mapping": "tiktok_shop.orders",
            "secret": "tts-secret",
            "params": {"app_key": "tts-key"},
        },
        headers=live_room.ctl,
    )
    assert r.status_code == 201, r.text
    url = r.json()["inbound_path"]
    now = int(time.time())
    outcomes = []
    for index, status in ((0, "UNPAID"), (2, "AWAITING_SHIPMENT"), (1, "CANCEL"), (3, None)):
        payload = sample("tiktok_shop_orders", index)["payload"]
        payload["timestamp"] = now
        if status is not None:
            payload["data"].update(order_id="5760001", order_status=status, update_time=now - 2)
        body = orjson.dumps(payload)
        r = await cclient.post(
            url, content=body, headers={"Authorization": tiktok_sign("tts-key", "tts-secret", body)}
        )
        assert r.status_code == 200, r.text
        outcomes.append((r.json()["outcome"], r.json()["events"]))
    assert outcomes == [("mapped", 1), ("mapped", 0), ("mapped", 1), ("unmapped", 0)]
    forged = orjson.dumps(sample("tiktok_shop_orders", 0)["payload"])
    r = await cclient.post(
        url, content=forged, headers={"Authorization": tiktok_sign("tts-key", "other", forged)}
    )
    assert r.status_code == 401
    async with connect_app.state.sessionmaker() as s:
        rows = (
            await s.execute(
                select(StreamEvent.type, StreamEvent.viewer_id)
                .where(StreamEvent.stream_id == sid)
                .order_by(StreamEvent.id)
            )
        ).all()
    assert [(e.type, e.viewer_id) for e in rows] == [
        ("order_created", "tiktok:5760001"),
        ("order_cancelled", "tiktok:5760001"),
    ]
    status = (await cclient.get(f"/api/v1/streams/{sid}/connectors", headers=live_room.ctl)).json()
    assert status[0]["received_15m"] == 5 and status[0]["errors_15m"] == 2
    assert 1_000 <= status[0]["lag_ms"] <= 4_000, status[0]
