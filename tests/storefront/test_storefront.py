"""The watch page's public storefront: what is listed, at what price, with what stock."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import StreamStatus
from app.security import create_token
from tests.conftest import Staff
from tests.controls.conftest import add_lineup, make_stream, set_sold, set_status


async def test_storefront_shows_only_listed_products_explaining_first_with_stock_left(
    client: httpx.AsyncClient, staff: Staff, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    sid = await make_stream(client, staff.admin, "直播间")
    a, b, c = await add_lineup(sessionmaker, sid, n=3, stock=20)
    await set_status(sessionmaker, sid, StreamStatus.live)
    for pid in (a, b):
        r = await client.post(f"/api/v1/streams/{sid}/lineup/{pid}/list", headers=staff.admin)
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/streams/{sid}/lineup/{b}/explain", headers=staff.admin)
    assert r.status_code == 200, r.text
    await set_sold(sessionmaker, sid, a, 7)

    r = await client.get(f"/api/v1/streams/{sid}/storefront")  # no login: public
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "直播间" and body["status"] == "live"
    assert [p["product_id"] for p in body["products"]] == [b, a]  # c is not listed
    first, second = body["products"]
    assert first["explaining"] is True and second["explaining"] is False
    assert second["stock_left"] == 13 and first["stock_left"] == 20
    assert first["live_price"] == "59.90" and first["list_price"] == "99.00"
    assert c not in {p["product_id"] for p in body["products"]}
    assert body["flash_sales"] == []

    r = await client.post(
        f"/api/v1/streams/{sid}/flash-sales",
        json={
            "product_id": a,
            "price": "39.90",
            "quantity": 5,
            "per_user_limit": 1,
            "duration_seconds": 120,
        },
        headers=staff.admin,
    )
    assert r.status_code == 201, r.text
    (sale,) = (await client.get(f"/api/v1/streams/{sid}/storefront")).json()["flash_sales"]
    assert sale["product_id"] == a and sale["price"] == "39.90"
    assert sale["remaining"] == 5 and sale["per_user_limit"] == 1

    r = await client.post(f"/api/v1/streams/{sid}/lineup/{b}/delist", headers=staff.admin)
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/streams/{sid}/storefront")
    assert [p["product_id"] for p in r.json()["products"]] == [a]


async def test_storefront_of_a_draft_or_missing_stream_is_not_found(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    sid = await make_stream(client, staff.admin, "草稿")
    r = await client.get(f"/api/v1/streams/{sid}/storefront")
    assert r.status_code == 404 and r.json()["code"] == "stream_not_found"
    r = await client.get("/api/v1/streams/999999/storefront")
    assert r.status_code == 404 and r.json()["code"] == "stream_not_found"
    r = await client.get("/api/v1/streams/abc/storefront")
    assert r.status_code == 422


def viewer_headers(app: FastAPI, stream_id: int, viewer_id: str) -> dict[str, str]:
    token, _ = create_token(
        app.state.settings.secret_key,
        viewer_id,
        "viewer",
        timedelta(hours=1),
        stream_id=stream_id,
    )
    return {"Authorization": f"Bearer {token}"}


async def test_a_watch_page_comment_reaches_the_comment_stream_and_the_service_queue(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff: Staff,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    sid = await make_stream(client, staff.admin, "问答场")
    await set_status(sessionmaker, sid, StreamStatus.live)
    alice = viewer_headers(app, sid, "v-alice")
    r = await client.post(
        f"/api/v1/streams/{sid}/comments",
        json={"text": "这款面霜敏感肌能用吗？", "event_id": "c1"},
        headers=alice,
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0}
    again = await client.post(
        f"/api/v1/streams/{sid}/comments",
        json={"text": "这款面霜敏感肌能用吗？", "event_id": "c1"},
        headers=alice,
    )
    assert again.json() == {"accepted": 0, "duplicates": 1}

    comments = await client.get(f"/api/v1/streams/{sid}/comments", headers=staff.admin)
    assert [c["text"] for c in comments.json()] == ["这款面霜敏感肌能用吗？"]
    assert comments.json()[0]["viewer_id"] == "v-alice"
    queue = await client.get(f"/api/v1/streams/{sid}/queue", headers=staff.admin)
    assert len(queue.json()) == 1 and queue.json()[0]["asker_count"] == 1


async def test_watch_page_comments_refused_without_token_when_muted_or_not_live(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff: Staff,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    sid = await make_stream(client, staff.admin, "禁言场")
    bob = viewer_headers(app, sid, "v-bob")
    body = {"text": "主播好"}
    r = await client.post(f"/api/v1/streams/{sid}/comments", json=body, headers=bob)
    assert r.status_code == 404  # a draft is not public (issue #19)
    await set_status(sessionmaker, sid, StreamStatus.scheduled)
    r = await client.post(f"/api/v1/streams/{sid}/comments", json=body, headers=bob)
    assert r.status_code == 409 and r.json()["code"] == "stream_not_live"
    await set_status(sessionmaker, sid, StreamStatus.live)
    r = await client.post(f"/api/v1/streams/{sid}/comments", json=body)
    assert r.status_code == 401
    r = await client.post(f"/api/v1/streams/{sid}/comments", json=body, headers=staff.admin)
    assert r.status_code == 403  # a staff token is not a viewer
    other = viewer_headers(app, sid + 1000, "v-bob")
    r = await client.post(f"/api/v1/streams/{sid}/comments", json=body, headers=other)
    assert r.status_code == 403 and r.json()["code"] == "wrong_stream"
    r = await client.post(f"/api/v1/streams/{sid}/comments", json={"text": ""}, headers=bob)
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/streams/{sid}/mutes",
        json={"viewer_id": "v-bob", "minutes": 5},
        headers=staff.admin,
    )
    assert r.status_code in (200, 201), r.text
    r = await client.post(f"/api/v1/streams/{sid}/comments", json=body, headers=bob)
    assert r.status_code == 403 and r.json()["code"] == "muted"
    comments = await client.get(f"/api/v1/streams/{sid}/comments", headers=staff.admin)
    assert comments.json() == []
