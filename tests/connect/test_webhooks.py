"""Outbound action webhooks against a real local HTTP receiver (issue 18)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.main import create_app
from app.services.webhooks import verify
from tests.connect.conftest import LiveRoom, Receiver, connect_settings


async def until(check, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def recipe(secret: str, timestamp: str, body: bytes) -> str:
    """The README's recipe, written out independently of the app's code."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


async def delivered_log(
    client: httpx.AsyncClient, room: LiveRoom, count: int
) -> list[dict[str, Any]]:
    """The delivery log once `count` deliveries are recorded as delivered."""
    url = f"/api/v1/streams/{room.stream_id}/webhook-deliveries"
    deadline = time.monotonic() + 10
    while True:
        rows: list[dict[str, Any]] = (await client.get(url, headers=room.ctl)).json()
        if sum(r["status"] == "delivered" for r in rows) >= count:
            return rows
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.05)


async def register(
    client: httpx.AsyncClient, room: LiveRoom, url: str, events: list[str]
) -> dict[str, object]:
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/webhooks",
        json={"url": url, "events": events},
        headers=room.ctl,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_flaky_receiver_gets_each_action_once_in_order(
    cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    receiver.answer = lambda n: 500 if n < 2 else 200  # fails twice, then succeeds
    hook = await register(cclient, live_room, receiver.url, ["*"])
    secret = str(hook["secret"])
    assert secret.startswith("whsec_")
    sid, (p1, p2, _) = live_room.stream_id, live_room.product_ids
    steps = [
        f"/api/v1/streams/{sid}/lineup/{p1}/list",
        f"/api/v1/streams/{sid}/lineup/{p1}/explain",
        f"/api/v1/streams/{sid}/lineup/{p2}/list",
        f"/api/v1/streams/{sid}/lineup/{p1}/delist",
    ]
    for path in steps:
        r = await cclient.post(path, headers=live_room.ctl)
        assert r.status_code == 200, r.text
    # 4 actions and 5 public events (delisting the explained product also ends the
    # explaining: product.explaining with no product).
    await until(lambda: len(receiver.accepted()) >= 9)
    await asyncio.sleep(0.3)  # nothing more comes

    accepted = receiver.accepted()
    ids = [r.headers["X-LCR-Delivery"] for r in accepted]
    assert len(ids) == len(set(ids)) == 9, "each delivery accepted exactly once"
    assert [r.json["type"] for r in accepted] == [
        "action.list",
        "product.listed",
        "action.explain",
        "product.explaining",
        "action.list",
        "product.listed",
        "action.delist",
        "product.delisted",
        "product.explaining",
    ]
    actions = [r.json["data"]["action"] for r in accepted if r.json["type"].startswith("action.")]
    assert actions == ["list", "explain", "list", "delist"]
    products = [
        (r.json["type"], r.json["data"].get("product_id"))
        for r in accepted
        if r.json["type"].startswith("action.")
    ]
    assert [p for _, p in products] == [p1, p1, p2, p1]
    # The first delivery was tried three times, with the same id every time.
    first = receiver.requests[0].headers["X-LCR-Delivery"]
    assert [r.headers["X-LCR-Delivery"] for r in receiver.requests[:3]] == [first] * 3
    assert ids[0] == first
    for req in receiver.requests:
        ts, sig = req.headers["X-LCR-Timestamp"], req.headers["X-LCR-Signature"]
        assert sig == recipe(secret, ts, req.body)
        assert verify(secret, ts, req.body, sig)
        assert req.json["stream_id"] == sid
    # A forged body or a stale timestamp fails the recipe.
    r0 = accepted[0]
    assert not verify(
        secret, r0.headers["X-LCR-Timestamp"], r0.body + b" ", r0.headers["X-LCR-Signature"]
    )
    stale = str(int(time.time()) - 301)
    assert not verify(secret, stale, r0.body, recipe(secret, stale, r0.body))

    rows = await delivered_log(cclient, live_room, 9)
    assert len(rows) == 9 and all(d["status"] == "delivered" for d in rows)
    by_uid = {d["uid"]: d for d in rows}
    assert by_uid[first]["tries"] == 3
    assert sorted(d["seq"] for d in rows) == list(range(1, 10))
    listed = (await cclient.get(f"/api/v1/streams/{sid}/webhooks", headers=live_room.ctl)).json()
    assert listed[0]["deliveries"]["delivered"] == 9 and "secret" not in listed[0]


async def test_dead_letter_then_queue_moves_on_and_retry(
    cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    receiver.answer = lambda n: 500 if n < 5 else 200  # max_tries is 5 in these tests
    await register(cclient, live_room, receiver.url, ["action.*"])
    sid, p1 = live_room.stream_id, live_room.product_ids[0]
    await cclient.post(f"/api/v1/streams/{sid}/lineup/{p1}/list", headers=live_room.ctl)
    await cclient.post(f"/api/v1/streams/{sid}/lineup/{p1}/explain", headers=live_room.ctl)
    await until(lambda: len(receiver.accepted()) == 1)
    assert receiver.accepted()[0].json["data"]["action"] == "explain"
    rows = (
        await cclient.get(f"/api/v1/streams/{sid}/webhook-deliveries", headers=live_room.ctl)
    ).json()
    dead = [d for d in rows if d["status"] == "dead"]
    assert len(dead) == 1 and dead[0]["tries"] == 5 and dead[0]["last_error"] == "HTTP 500"
    assert dead[0]["event_type"] == "action.list"
    r = await cclient.post(
        f"/api/v1/streams/{sid}/webhook-deliveries/{dead[0]['id']}/retry", headers=live_room.ctl
    )
    assert r.status_code == 200 and r.json()["status"] == "pending"
    await until(lambda: len(receiver.accepted()) == 2)
    assert receiver.accepted()[1].headers["X-LCR-Delivery"] == dead[0]["uid"]
    again = await cclient.post(
        f"/api/v1/streams/{sid}/webhook-deliveries/{dead[0]['id']}/retry", headers=live_room.ctl
    )
    assert again.status_code == 422 and again.json()["code"] == "delivery_not_dead"


async def test_timeout_counts_as_failure(
    cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    receiver.answer = lambda n: None if n == 0 else 200  # hangs past the 1 s timeout once
    await register(cclient, live_room, receiver.url, ["action.list"])
    sid, p1 = live_room.stream_id, live_room.product_ids[0]
    await cclient.post(f"/api/v1/streams/{sid}/lineup/{p1}/list", headers=live_room.ctl)
    await until(lambda: len(receiver.accepted()) == 1)
    # The receiver has answered; the dispatcher records the outcome just after.
    rows = await delivered_log(cclient, live_room, 1)
    assert rows[0]["tries"] == 2 and rows[0]["status"] == "delivered"
    assert rows[0]["last_error"] == ""
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["X-LCR-Delivery"] == rows[0]["uid"]


async def test_action_result_pending_then_done(
    cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    await register(cclient, live_room, receiver.url, ["action.*"])
    sid, p1 = live_room.stream_id, live_room.product_ids[0]
    await cclient.post(f"/api/v1/streams/{sid}/lineup/{p1}/list", headers=live_room.ctl)
    await until(lambda: len(receiver.accepted()) == 1)
    action_id = receiver.accepted()[0].json["data"]["action_id"]
    actions = (await cclient.get(f"/api/v1/streams/{sid}/actions", headers=live_room.ctl)).json()
    assert actions[0]["id"] == action_id and actions[0]["platform_status"] == "pending"
    key = await cclient.post(f"/api/v1/streams/{sid}/ingest-keys", json={}, headers=live_room.ctl)
    ingest_key = key.json()["key"]
    url = f"/api/v1/streams/{sid}/actions/{action_id}/result"
    bad = await cclient.post(url, json={"status": "done"}, headers={"X-Ingest-Key": "nope"})
    assert bad.status_code == 401
    none = await cclient.post(url, json={"status": "done"})
    assert none.status_code == 401
    wrong = await cclient.post(url, json={"status": "maybe"}, headers={"X-Ingest-Key": ingest_key})
    assert wrong.status_code == 422
    analyst = await cclient.post(url, json={"status": "done"}, headers=live_room.analyst)
    assert analyst.status_code == 403
    missing = await cclient.post(
        f"/api/v1/streams/{sid}/actions/99999999/result",
        json={"status": "done"},
        headers={"X-Ingest-Key": ingest_key},
    )
    assert missing.status_code == 404
    ok = await cclient.post(
        url,
        json={"status": "failed", "message": "平台拒绝: 库存不足"},
        headers={"X-Ingest-Key": ingest_key},
    )
    assert ok.status_code == 200, ok.text
    actions = (await cclient.get(f"/api/v1/streams/{sid}/actions", headers=live_room.ctl)).json()
    assert actions[0]["platform_status"] == "failed"
    assert actions[0]["platform_message"] == "平台拒绝: 库存不足"


async def test_roles_validation_and_delete(
    cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    sid = live_room.stream_id
    url = f"/api/v1/streams/{sid}/webhooks"
    r = await cclient.post(
        url, json={"url": receiver.url, "events": ["*"]}, headers=live_room.analyst
    )
    assert r.status_code == 403
    r = await cclient.get(url, headers=live_room.analyst)
    assert r.status_code == 403
    r = await cclient.post(
        url, json={"url": receiver.url, "events": ["nope"]}, headers=live_room.ctl
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_event_type"
    r = await cclient.post(
        url, json={"url": "ftp://x.example/", "events": ["*"]}, headers=live_room.ctl
    )
    assert r.status_code == 422 and r.json()["code"] == "webhook_url_refused"
    assert r.json()["message"] == "推送地址被拒绝（须为公网 http(s) 地址）"  # zh by default
    r = await cclient.post(url, json={"url": receiver.url, "events": []}, headers=live_room.ctl)
    assert r.status_code == 422
    hook = await register(cclient, live_room, receiver.url, ["product.listed"])
    r = await cclient.delete(f"{url}/{hook['id']}", headers=live_room.analyst)
    assert r.status_code == 403
    r = await cclient.delete(f"{url}/{hook['id']}", headers=live_room.ctl)
    assert r.status_code == 204
    r = await cclient.delete(f"{url}/{hook['id']}", headers=live_room.ctl)
    assert r.status_code == 404
    p1 = live_room.product_ids[0]
    await cclient.post(f"/api/v1/streams/{sid}/lineup/{p1}/list", headers=live_room.ctl)
    await asyncio.sleep(0.3)
    assert receiver.requests == []  # removed: nothing delivered


async def test_ssrf_guard_refuses_private_addresses(
    tmp_path: Path, pg_database: str, redis_prefix: str
) -> None:
    settings = connect_settings(tmp_path, pg_database, redis_prefix, webhook_allow_private=False)
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        from tests.controls.conftest import Crew, make_stream

        crew = await Crew(app.state.sessionmaker, settings).setup()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            sid = await make_stream(c, crew.admin)
            for url in (
                "http://127.0.0.1:8080/hook",
                "http://localhost/hook",
                "http://10.1.2.3/hook",
                "http://192.168.1.10/hook",
                "http://169.254.169.254/latest/meta-data",
                "http://[::1]/hook",
                "http://[::ffff:127.0.0.1]/hook",
            ):
                r = await c.post(
                    f"/api/v1/streams/{sid}/webhooks",
                    json={"url": url, "events": ["*"]},
                    headers=crew.admin,
                )
                assert r.status_code == 422, (url, r.text)
                assert r.json()["code"] == "webhook_url_refused"
            # A public address literal is accepted (no traffic is sent: no event).
            r = await c.post(
                f"/api/v1/streams/{sid}/webhooks",
                json={"url": "https://93.184.215.14/hook", "events": ["*"]},
                headers=crew.admin,
            )
            assert r.status_code == 201, r.text


async def test_stock_changed_by_connector_orders_is_delivered(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    """Every public event goes out, `stock.changed` of an ingested (connector) order too:
    created then cancelled, each with the figures its own transaction committed."""
    import orjson
    from sqlalchemy import select

    from app.models import Product
    from tests.connect.test_connectors import sample, shopify_sign

    sid, (p1, p2, _) = live_room.stream_id, live_room.product_ids
    await register(cclient, live_room, receiver.url, ["stock.changed"])
    async with connect_app.state.sessionmaker() as s:
        skus = dict(
            (await s.execute(select(Product.id, Product.sku).where(Product.id.in_([p1, p2])))).all()
        )
    r = await cclient.post(
        f"/api/v1/streams/{sid}/connectors",
        json={"name": "店", "mapping": "shopify.orders", "secret": "k"},
        headers=live_room.ctl,
    )
    inbound = r.json()["inbound_path"]
    for index in (0, 2):  # orders/create (p1 ×1, p2 ×2), then orders/cancelled (p2's line)
        s = sample("shopify_orders", index)
        raw = orjson.dumps(s["payload"]).replace(b"LCR-DEMO-1", skus[p1].encode())
        raw = raw.replace(b"LCR-DEMO-2", skus[p2].encode())
        r = await cclient.post(
            inbound,
            content=raw,
            headers={**s["headers"], "X-Shopify-Hmac-Sha256": shopify_sign("k", raw)},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1 + (index == 0), r.text
    await until(lambda: len(receiver.accepted()) >= 3)
    await asyncio.sleep(0.3)  # nothing more comes
    got = [
        (r.json["type"], r.json["data"]["product_id"], r.json["data"]["stock_left"])
        for r in receiver.accepted()
    ]
    assert got == [
        ("stock.changed", p1, 99),
        ("stock.changed", p2, 98),
        ("stock.changed", p2, 100),
    ]
    assert receiver.accepted()[1].json["data"] == {
        "product_id": p2,
        "stock_left": 98,
        "allotted_stock": 100,
        "sold_units": 2,
    }


async def test_every_live_action_goes_out_as_an_action(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom, receiver: Receiver
) -> None:
    """Flash sale, coupon, pin, mute (and their undoing) are control actions like list
    and explain: each goes out with an action_id the platform's receiver reports on."""
    from datetime import UTC, datetime, timedelta

    from app.models import Comment

    await register(cclient, live_room, receiver.url, ["action.*"])
    sid, p1 = live_room.stream_id, live_room.product_ids[0]
    async with connect_app.state.sessionmaker() as s:
        comment = Comment(
            stream_id=sid,
            viewer_id="v1",
            text="几号发货？",
            source="ingest",
            kind="question",
            topic="shipping",
            sentiment="neutral",
        )
        s.add(comment)
        await s.commit()
        comment_id = comment.id
    base = f"/api/v1/streams/{sid}"
    until_ = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"{base}/lineup/{p1}/list", None),
        (
            "POST",
            f"{base}/flash-sales",
            {
                "product_id": p1,
                "price": "39.90",
                "quantity": 5,
                "per_user_limit": 1,
                "duration_seconds": 60,
            },
        ),
        (
            "POST",
            f"{base}/coupons",
            {"amount": "10", "threshold": "99", "quantity": 100, "valid_until": until_},
        ),
        ("POST", f"{base}/comments/{comment_id}/pin", None),
        ("DELETE", f"{base}/pin", None),
        ("POST", f"{base}/mutes", {"viewer_id": "troll", "minutes": 10, "reason": "刷屏"}),
        ("DELETE", f"{base}/mutes/troll", None),
    ]
    flash_id = None
    for method, url, body in steps:
        r = await cclient.request(method, url, json=body, headers=live_room.ctl)
        assert r.status_code < 300, (url, r.text)
        if url.endswith("/flash-sales"):
            flash_id = r.json()["id"]
    r = await cclient.post(f"{base}/flash-sales/{flash_id}/stop", headers=live_room.ctl)
    assert r.status_code == 200, r.text
    names = ["list", "flash_sale", "coupon", "pin", "unpin", "mute", "unmute", "flash_sale_stop"]
    await until(lambda: len(receiver.accepted()) >= len(names))
    got = [r.json["data"] for r in receiver.accepted()]
    assert [d["action"] for d in got] == names
    assert got[1]["product_id"] == p1 and got[1]["detail"]["price"] == "39.90"
    assert got[3]["detail"]["comment_id"] == comment_id and got[3]["actor_id"] is not None
    assert got[6]["detail"] == {"viewer_id": "troll"} and got[6]["actor_id"] is not None
    actions = (await cclient.get(f"{base}/actions", headers=live_room.ctl)).json()
    assert {a["action"]: a["platform_status"] for a in actions} == dict.fromkeys(names, "pending")
