"""Ingest: keys, validation, de-duplication, exact counters — on both backends."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import StreamEvent, StreamMinute, StreamStatus, StreamViewer
from tests.conftest import TEST_PASSWORD, bearer
from tests.live.helpers import (
    add_product,
    admin_headers,
    ingest_key,
    live_stream,
    new_stream,
    send,
    set_status,
)


async def _log_count(app: FastAPI, stream_id: int) -> int:
    async with app.state.sessionmaker() as s:
        n = await s.scalar(select(func.count()).where(StreamEvent.stream_id == stream_id))
        return int(n or 0)


async def _metrics(client: httpx.AsyncClient, stream_id: int, headers: dict[str, str]) -> Any:
    r = await client.get(f"/api/v1/streams/{stream_id}/metrics", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _user(client: httpx.AsyncClient, admin: dict[str, str], name: str, role: str) -> int:
    r = await client.post(
        "/api/v1/users",
        json={"username": name, "password": TEST_PASSWORD, "role": role},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _login(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": TEST_PASSWORD})
    return bearer(r.json()["access_token"])


async def test_ingest_key_lifecycle_and_roles(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    client = any_client
    admin = await admin_headers(client)
    stream_id = await new_stream(client, admin)
    await set_status(any_app, stream_id, StreamStatus.live)
    ctl_id = await _user(client, admin, "ctl1", "controller")
    host_id = await _user(client, admin, "host1", "host")
    for uid, role in ((ctl_id, "controller"), (host_id, "host")):
        r = await client.put(
            f"/api/v1/streams/{stream_id}/team/{uid}", json={"role": role}, headers=admin
        )
        assert r.status_code == 200
    ctl, host = await _login(client, "ctl1"), await _login(client, "host1")

    r = await client.post(f"/api/v1/streams/{stream_id}/ingest-keys", headers=host)
    assert r.status_code == 403
    r = await client.post(
        f"/api/v1/streams/{stream_id}/ingest-keys", json={"label": "抖音"}, headers=ctl
    )
    assert r.status_code == 201
    key, key_id = r.json()["key"], r.json()["id"]

    listed = (await client.get(f"/api/v1/streams/{stream_id}/ingest-keys", headers=ctl)).json()
    assert [k["label"] for k in listed] == ["抖音"]
    assert key not in str(listed)  # only the hash is kept; the key is never shown again

    event = [{"type": "like", "user_id": "u1"}]
    assert (await send(client, stream_id, key, event)).status_code == 202
    # another stream's key, a wrong key and no key are all 401
    other = await new_stream(client, admin, "other")
    await set_status(any_app, other, StreamStatus.live)
    other_key = await ingest_key(client, admin, other)
    assert (await send(client, stream_id, other_key, event)).status_code == 401
    assert (await send(client, stream_id, key + "x", event)).status_code == 401
    r = await client.post(f"/api/v1/streams/{stream_id}/events", json={"events": event})
    assert r.status_code == 401 and r.json()["code"] == "ingest_key_missing"

    r = await client.delete(f"/api/v1/streams/{stream_id}/ingest-keys/{key_id}", headers=ctl)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert (await send(client, stream_id, key, event)).status_code == 401
    assert await _log_count(any_app, stream_id) == 1


async def test_stream_not_live_is_409_and_nothing_logged(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    admin = await admin_headers(any_client)
    stream_id = await new_stream(any_client, admin)
    key = await ingest_key(any_client, admin, stream_id)
    r = await send(any_client, stream_id, key, [{"type": "like", "user_id": "u"}])
    assert r.status_code == 409 and r.json()["code"] == "stream_not_live"
    await set_status(any_app, stream_id, StreamStatus.ended)
    r = await send(any_client, stream_id, key, [{"type": "like", "user_id": "u"}])
    assert r.status_code == 409
    assert await _log_count(any_app, stream_id) == 0


async def test_bad_batch_lists_each_bad_index_and_applies_nothing(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    stream_id, key, admin = await live_stream(any_app, any_client)
    events: list[Any] = [
        {"type": "like", "user_id": "ok-1"},
        {"type": "dance", "user_id": "u"},
        {"type": "order_paid", "user_id": "u", "product_id": 1, "amount": 59.9},
        {"type": "comment", "user_id": "u"},
        {"type": "viewer_join", "user_id": "u", "source": "tv"},
        {"type": "like", "user_id": "u", "ts": "2026-11-24T10:00:00"},
        {"type": "product_click", "user_id": "u"},
        {"type": "like", "user_id": "u", "color": "red"},
        "not an object",
        {"type": "order_created", "user_id": "u", "product_id": 1, "quantity": 0},
        {"type": "like", "user_id": ""},
        {"type": "like", "user_id": "ok-2", "ts": "2026-11-24T10:00:00+08:00"},
    ]
    r = await send(any_client, stream_id, key, events)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_batch"
    bad = {e["index"]: e["reason"] for e in body["detail"]}
    assert sorted(bad) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "type must be one of" in bad[1]
    assert "float" in bad[2]
    assert "text is required" in bad[3]
    assert "source must be one of" in bad[4]
    assert "time zone" in bad[5]
    assert "product_id is required" in bad[6]
    assert "color" in bad[7]
    assert "quantity" in bad[9]
    assert await _log_count(any_app, stream_id) == 0
    assert (await _metrics(any_client, stream_id, admin))["likes"] == 0

    for body_raw in (b"{", b"[]", b'{"events": []}', b'{"events": {}}'):
        r = await any_client.post(
            f"/api/v1/streams/{stream_id}/events",
            content=body_raw,
            headers={"X-Ingest-Key": key, "Content-Type": "application/json"},
        )
        assert r.status_code == 422, body_raw
    too_many: list[dict[str, Any]] = [{"type": "like", "user_id": "u"}] * 1001
    r = await send(any_client, stream_id, key, too_many)
    assert r.status_code == 422 and "1 to 1000" in r.json()["detail"][0]["reason"]


async def test_repeated_event_ids_count_once_within_and_across_batches(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    stream_id, key, admin = await live_stream(any_app, any_client)
    batch = [
        {"type": "like", "user_id": "u1", "event_id": "e1"},
        {"type": "like", "user_id": "u1", "event_id": "e1"},  # repeated in the batch
        {"type": "like", "user_id": "u2", "event_id": "e2"},
        {"type": "like", "user_id": "u3"},  # no id: never a duplicate
    ]
    r = await send(any_client, stream_id, key, batch)
    assert r.status_code == 202 and r.json() == {"accepted": 3, "duplicates": 1}
    r = await send(any_client, stream_id, key, batch)  # a retried batch
    assert r.json() == {"accepted": 1, "duplicates": 3}
    m = await _metrics(any_client, stream_id, admin)
    assert m["likes"] == 4 and m["viewers"] == 3
    assert await _log_count(any_app, stream_id) == 4


async def test_metrics_count_every_field_exactly(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    stream_id, key, admin = await live_stream(any_app, any_client)
    pid = await add_product(any_app, stream_id, f"SKU-{stream_id}-A", allotted=10)
    events: list[dict[str, Any]] = [
        {"type": "viewer_join", "user_id": "a", "source": "feed"},
        {"type": "viewer_join", "user_id": "a"},  # joins twice: online once
        {"type": "viewer_join", "user_id": "b", "source": "ads"},
        {"type": "viewer_join", "user_id": "c"},
        {"type": "viewer_leave", "user_id": "c"},
        {"type": "viewer_leave", "user_id": "zz"},  # never joined: ignored for online
        {"type": "comment", "user_id": "a", "text": "有S码吗？"},
        {"type": "like", "user_id": "a"},
        {"type": "like", "user_id": "b"},
        {"type": "share", "user_id": "b"},
        {"type": "follow", "user_id": "b"},
        {"type": "product_click", "user_id": "a", "product_id": pid},
        {"type": "product_click", "user_id": "b", "product_id": pid},
        {"type": "add_to_cart", "user_id": "a", "product_id": pid},
        {"type": "order_created", "user_id": "a", "product_id": pid, "quantity": 2},
        {"type": "order_created", "user_id": "b", "product_id": pid, "quantity": 1},
        {"type": "order_created", "user_id": "b", "product_id": pid, "quantity": 3},
        {
            "type": "order_paid",
            "user_id": "a",
            "product_id": pid,
            "quantity": 2,
            "amount": "119.80",
        },
        {"type": "order_paid", "user_id": "b", "product_id": pid, "amount": "59.90"},
        {"type": "order_cancelled", "user_id": "b", "product_id": pid, "quantity": 3},
        {"type": "order_refunded", "user_id": "b", "product_id": pid, "amount": "59.90"},
    ]
    r = await send(any_client, stream_id, key, events)
    assert r.status_code == 202, r.text
    m = await _metrics(any_client, stream_id, admin)
    assert {k: v for k, v in m.items() if k != "products"} == {
        "stream_id": stream_id,
        "online": 2,
        "peak_online": 3,
        "viewers": 4,
        "comments": 1,
        "likes": 2,
        "shares": 1,
        "follows": 1,
        "product_clicks": 2,
        "add_to_cart": 1,
        "orders": 3,
        "paid_orders": 2,
        "cancelled_orders": 1,
        "refunded_orders": 1,
        "units_sold": 3,
        "gmv": "179.70",  # before refunds
        "refunds": "59.90",
    }
    # Order events without `order_id` name no order: counted in the funnel, but they are
    # not in the order book and hold no stock ("left", docs/metrics.md): 10 of 10 left.
    assert m["products"] == [
        {
            "product_id": pid,
            "clicks": 2,
            "add_to_cart": 1,
            "orders": 3,
            "units_sold": 3,
            "gmv": "179.70",
            "stock_left": 10,
        }
    ]
    # the rollups were written in the same transaction as the log
    async with any_app.state.sessionmaker() as s:
        a = await s.get(StreamViewer, (stream_id, "a"))
        assert a is not None and a.source == "feed" and a.joins == 2 and a.paid_orders == 1
        assert str(a.paid_amount) == "119.80"
        total = await s.scalar(
            select(func.sum(StreamMinute.comments + StreamMinute.likes)).where(
                StreamMinute.stream_id == stream_id
            )
        )
        assert total == 3
    r = await any_client.get(f"/api/v1/streams/{stream_id}/metrics/minutes", headers=admin)
    assert r.status_code == 200 and sum(x["likes"] for x in r.json()) == 2
    # minutes in the team's time zone (Asia/Shanghai), with the offset (#16)
    assert r.json() and all(x["minute"].endswith("+08:00") for x in r.json())


async def test_metrics_need_a_team_member(app: FastAPI, client: httpx.AsyncClient) -> None:
    stream_id, _, admin = await live_stream(app, client)
    await _user(client, admin, "outsider", "controller")
    r = await client.get(
        f"/api/v1/streams/{stream_id}/metrics", headers=await _login(client, "outsider")
    )
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/streams/{stream_id}/metrics")).status_code == 401
