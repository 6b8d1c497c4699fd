"""The watch page: post comments with a viewer token, read private answers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import StreamStatus
from tests.controls.conftest import Room, set_status
from tests.orders.helpers import viewer_headers


async def test_viewer_comments_feed_the_queue_and_read_their_private_answer(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    sid = room.stream_id
    url = f"/api/v1/streams/{sid}/comments"
    for v in ("w1", "w2", "w3"):
        r = await client.post(
            url, json={"text": "这个有运费险吗"}, headers=viewer_headers(app, sid, v)
        )
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == "question" and r.json()["blocked"] is False
    spam = await client.post(
        url, json={"text": "加 V 信 送你同款"}, headers=viewer_headers(app, sid, "w4")
    )
    assert spam.status_code == 201 and spam.json()["blocked"] is True

    items = (await client.get(f"/api/v1/streams/{sid}/queue", headers=room.svc)).json()
    assert len(items) == 1 and items[0]["asker_count"] == 3
    r = await client.post(
        f"/api/v1/streams/{sid}/queue/{items[0]['id']}/answer",
        json={"text": "每单送运费险"},
        headers=room.svc,
    )
    assert r.status_code == 200
    mine = await client.get(
        f"/api/v1/streams/{sid}/my-answers", headers=viewer_headers(app, sid, "w2")
    )
    assert mine.status_code == 200
    assert [a["answer"] for a in mine.json()] == ["每单送运费险"]
    other = await client.get(
        f"/api/v1/streams/{sid}/my-answers", headers=viewer_headers(app, sid, "w9")
    )
    assert other.json() == []


async def test_watch_page_comment_refusals(
    app: FastAPI,
    client: httpx.AsyncClient,
    room: Room,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    sid = room.stream_id
    url = f"/api/v1/streams/{sid}/comments"
    me = viewer_headers(app, sid, "w1")
    assert (await client.post(url, json={"text": "hi"})).status_code == 401
    r = await client.post(url, json={"text": "hi"}, headers=room.svc)
    assert r.status_code == 403 and r.json()["code"] == "viewer_only"
    r = await client.post(url, json={"text": "hi"}, headers=viewer_headers(app, sid + 1000, "w1"))
    assert r.status_code == 403
    for body in ({"text": ""}, {"text": "x" * 501}, {"text": 5}, {}, {"text": "a", "extra": 1}):
        assert (await client.post(url, json=body, headers=me)).status_code == 422, body

    first = await client.post(url, json={"text": "多少钱", "event_id": "e1"}, headers=me)
    again = await client.post(url, json={"text": "多少钱", "event_id": "e1"}, headers=me)
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    # another viewer's identical event id is their own comment
    theirs = await client.post(
        url, json={"text": "多少钱", "event_id": "e1"}, headers=viewer_headers(app, sid, "w2")
    )
    assert theirs.json()["duplicate"] is False

    r = await client.post(
        f"/api/v1/streams/{sid}/mutes", json={"viewer_id": "w1", "minutes": 5}, headers=room.ctl
    )
    assert r.status_code == 201
    muted = await client.post(url, json={"text": "hello"}, headers=me)
    assert muted.status_code == 403 and muted.json()["code"] == "muted" and muted.json()["until"]

    await set_status(sessionmaker, sid, StreamStatus.ended)
    r = await client.post(url, json={"text": "hi"}, headers=viewer_headers(app, sid, "w3"))
    assert r.status_code == 409 and r.json()["code"] == "stream_not_live"
