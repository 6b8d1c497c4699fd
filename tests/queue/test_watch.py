"""The watch page: comments reach the queue, askers read their private answer."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.controls.conftest import Room
from tests.orders.helpers import viewer_headers


async def test_viewer_questions_feed_the_queue_and_only_askers_read_the_private_answer(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    sid = room.stream_id
    url = f"/api/v1/streams/{sid}/comments"
    for v in ("w1", "w2", "w3"):
        r = await client.post(
            url, json={"text": "这个有运费险吗"}, headers=viewer_headers(app, sid, v)
        )
        assert r.status_code == 202, r.text
    spam = await client.post(
        url, json={"text": "加 V 信 送你同款"}, headers=viewer_headers(app, sid, "w4")
    )
    assert spam.status_code == 202
    ctl = (await client.get(f"/api/v1/streams/{sid}/comments", headers=room.ctl)).json()
    assert [c["blocked"] for c in ctl if c["viewer_id"] == "w4"] == [True]

    items = (await client.get(f"/api/v1/streams/{sid}/queue", headers=room.svc)).json()
    assert len(items) == 1 and items[0]["asker_count"] == 3
    r = await client.post(
        f"/api/v1/streams/{sid}/queue/{items[0]['id']}/answer",
        json={"text": "每单送运费险"},
        headers=room.svc,
    )
    assert r.status_code == 200
    answers = f"/api/v1/streams/{sid}/my-answers"
    mine = await client.get(answers, headers=viewer_headers(app, sid, "w2"))
    assert mine.status_code == 200
    assert [(a["answer"], a["public"]) for a in mine.json()] == [("每单送运费险", False)]
    other = await client.get(answers, headers=viewer_headers(app, sid, "w9"))
    assert other.json() == []
    assert (await client.get(answers)).status_code == 401
    assert (await client.get(answers, headers=room.svc)).status_code == 403
    r = await client.get(answers, headers=viewer_headers(app, sid + 1000, "w2"))
    assert r.status_code == 403
