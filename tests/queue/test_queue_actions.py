"""Queue actions: claim (raced), answer, dismiss, reopen, cues, quick replies, FAQ."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
from fastapi import FastAPI

from app.models import StreamStatus
from app.services import queue as queue_service
from tests.controls.conftest import Crew, EventLog, Room, add_lineup, make_stream, set_status
from tests.queue.conftest import take_in

_tag = itertools.count()


async def one_item(
    app: FastAPI, client: httpx.AsyncClient, room: Room, text: str = "运费多少"
) -> dict[str, Any]:
    await take_in(app, room.stream_id, [("v1", text), ("v2", text)])
    r = await client.get(f"/api/v1/streams/{room.stream_id}/queue", headers=room.svc)
    items = r.json()
    assert len(items) == 1, items
    return dict(items[0])


async def test_claim_answer_dismiss_reopen_with_who_and_when(
    app: FastAPI, client: httpx.AsyncClient, room: Room, crew: Crew, events: EventLog
) -> None:
    item = await one_item(app, client, room)
    base = f"/api/v1/streams/{room.stream_id}/queue/{item['id']}"
    other = await crew.user("svc2", "service")
    await crew.join(room.stream_id, "svc2", "service")

    r = await client.post(f"{base}/claim", headers=room.svc)
    assert r.status_code == 200 and r.json()["status"] == "claimed"
    assert r.json()["claimed_by"] == crew.ids["svc"]
    taken = await client.post(f"{base}/claim", headers=other)
    assert taken.status_code == 409 and taken.json()["claimed_by"] == crew.ids["svc"]
    # someone else's item cannot be answered or dismissed by another agent
    assert (
        await client.post(f"{base}/answer", json={"text": "x"}, headers=other)
    ).status_code == 409
    assert (await client.post(f"{base}/dismiss", headers=other)).status_code == 409

    r = await client.post(
        f"{base}/answer", json={"text": "全国包邮，偏远地区补10元"}, headers=room.svc
    )
    assert r.status_code == 200
    done = r.json()
    assert done["status"] == "answered" and done["answered_by"] == crew.ids["svc"]
    assert done["answered_at"] is not None and done["answer_public"] is False
    assert (
        await client.post(f"{base}/answer", json={"text": "again"}, headers=room.svc)
    ).status_code == 409
    # a private answer is not pinned on the watch page
    assert (await client.get(f"/api/v1/streams/{room.stream_id}/pin")).json() == {"pin": None}

    # the askers (and only they) read it
    async with app.state.sessionmaker() as s:
        mine = await queue_service.answers_for_viewer(s, room.stream_id, "v1")
        theirs = await queue_service.answers_for_viewer(s, room.stream_id, "v3")
    assert [a["answer"] for a in mine] == ["全国包邮，偏远地区补10元"] and theirs == []

    r = await client.post(f"{base}/reopen", headers=other)
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["claimed_by"] is None
    r = await client.post(f"{base}/dismiss", headers=other)
    assert r.status_code == 200 and r.json()["dismissed_by"] == crew.ids["svc2"]
    assert (await client.post(f"{base}/claim", headers=room.svc)).status_code == 409
    assert (
        await client.get(f"/api/v1/streams/{room.stream_id}/queue", headers=room.svc)
    ).json() == []

    await events.wait_for("question.updated", 4)
    seqs = [m["seq"] for m in events.messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(
        set(m["roles"]) == {"admin", "controller", "service"} for m in events.of("question.updated")
    )
    assert events.of("question.new")[0]["data"]["asker_count"] == 2


async def test_public_answer_is_pinned_on_the_watch_page(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    item = await one_item(app, client, room, "有运费险吗")
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/queue/{item['id']}/answer",
        json={"text": "每单都送运费险", "public": True},
        headers=room.ctl,
    )
    assert r.status_code == 200 and r.json()["answer_public"] is True
    pin = (await client.get(f"/api/v1/streams/{room.stream_id}/pin")).json()["pin"]
    assert pin["kind"] == "answer" and pin["item_id"] == item["id"]
    assert "每单都送运费险" in pin["text"]


async def test_roles_on_the_queue(
    app: FastAPI, client: httpx.AsyncClient, room: Room, crew: Crew
) -> None:
    item = await one_item(app, client, room)
    sid = room.stream_id
    for headers in (room.host, room.analyst):
        assert (
            await client.get(f"/api/v1/streams/{sid}/queue", headers=headers)
        ).status_code == 403
        r = await client.post(f"/api/v1/streams/{sid}/queue/{item['id']}/claim", headers=headers)
        assert r.status_code == 403
    outsider = await crew.user("svc_other", "service")  # not on this stream's team
    assert (await client.get(f"/api/v1/streams/{sid}/queue", headers=outsider)).status_code == 403
    assert (await client.get(f"/api/v1/streams/{sid}/queue")).status_code == 401
    r = await client.post(f"/api/v1/streams/{sid}/queue/999999/claim", headers=room.svc)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/streams/{sid}/queue/{item['id']}/answer", json={"text": ""}, headers=room.svc
    )
    assert r.status_code == 422


async def test_host_cue_when_many_ask_and_on_one_click(
    app: FastAPI, client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    many = [(f"v{i}", "尺码怎么选") for i in range(queue_service.CUE_THRESHOLD)]
    await take_in(app, room.stream_id, many[:-1])
    await events.settle(0.1)
    assert events.of("cue") == []
    await take_in(app, room.stream_id, [*many[-1:], ("w1", "尺码怎么选")])
    await events.wait_for("cue")
    cue = events.of("cue")[0]
    assert cue["data"]["text"].startswith(f"{queue_service.CUE_THRESHOLD + 1} 位观众在问")
    assert cue["data"]["source"] == "service_queue"
    # a stable code with its params: each console words it in its own language
    assert cue["data"]["code"] == "cue.questions"
    assert cue["data"]["params"]["count"] == queue_service.CUE_THRESHOLD + 1
    en = await client.get(
        f"/api/v1/streams/{room.stream_id}/cues",
        headers={**room.host, "Accept-Language": "en"},
    )
    assert en.json()[0]["code"] == "cue.questions"
    assert en.json()[0]["text"].startswith(f"{queue_service.CUE_THRESHOLD + 1} viewers are asking")
    zh = await client.get(f"/api/v1/streams/{room.stream_id}/cues", headers=room.host)
    assert zh.json()[0]["text"] == cue["data"]["text"]
    assert cue.get("roles") is None  # every staff console, the host's teleprompter too
    await take_in(app, room.stream_id, [("w2", "尺码怎么选")])
    await events.settle(0.1)
    assert len(events.of("cue")) == 1  # once per item

    await take_in(app, room.stream_id, [("x1", "有运费险吗")])
    items = (await client.get(f"/api/v1/streams/{room.stream_id}/queue", headers=room.svc)).json()
    small = next(i for i in items if i["asker_count"] == 1)
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/queue/{small['id']}/cue", headers=room.svc
    )
    assert r.status_code == 201 and "1 位观众在问" in r.json()["text"]
    await events.wait_for("cue", 2)


async def test_quick_replies_fill_product_price_stock_and_faq_is_suggested(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    base = f"/api/v1/streams/{room.stream_id}"
    pid = room.product_ids[0]
    r = await client.post(
        f"{base}/quick-replies",
        json={
            "title": "价格",
            "body": "{product} 直播价 {price} 元，还剩 {stock} 件 {unknown}",
            "product_id": pid,
        },
        headers=room.svc,
    )
    assert r.status_code == 201, r.text
    assert r.json()["rendered"] == "商品0 直播价 59.90 元，还剩 100 件 {unknown}"
    await client.post(
        f"{base}/quick-replies", json={"title": "通用", "body": "稍等马上回复"}, headers=room.svc
    )
    listed = (
        await client.get(f"{base}/quick-replies", params={"product_id": pid}, headers=room.svc)
    ).json()
    assert [x["title"] for x in listed] == ["价格", "通用"]

    r = await client.post(
        f"{base}/faq",
        json={
            "question": "什么时候发货",
            "answer": "48小时内发货，{product} 现货",
            "keywords": ["发货"],
        },
        headers=room.svc,
    )
    assert r.status_code == 201
    await client.post(
        f"{base}/faq", json={"question": "可以开发票吗", "answer": "可以"}, headers=room.svc
    )
    await take_in(app, room.stream_id, [("v1", "啥时候发货呀")])
    item = (await client.get(f"{base}/queue", headers=room.svc)).json()[0]
    detail = (await client.get(f"{base}/queue/{item['id']}", headers=room.svc)).json()
    assert detail["suggestions"][0]["question"] == "什么时候发货"
    assert len(detail["suggestions"]) == 1


async def test_two_agents_racing_to_claim_one_item_only_one_wins(
    committed_app: FastAPI, committed_client: httpx.AsyncClient
) -> None:
    """Real concurrency: separate connections, committed rows, many rounds."""
    tag = next(_tag)
    crew = await Crew(committed_app.state.sessionmaker, committed_app.state.settings).setup()
    ctl = await crew.user(f"race_ctl_{tag}_{id(crew)}", "controller")
    agents = []
    sid = await make_stream(committed_client, ctl, "抢单测试")
    for i in range(4):
        name = f"race_svc{i}_{tag}_{id(crew)}"
        agents.append(await crew.user(name, "service"))
        await crew.join(sid, name, "service")
    await add_lineup(committed_app.state.sessionmaker, sid, 1)
    await set_status(committed_app.state.sessionmaker, sid, StreamStatus.live)
    asks = ["运费多少", "尺码怎么选", "有优惠券吗", "可以开发票吗", "退货要自己寄吗", "保质期多久"]
    await take_in(committed_app, sid, [(f"r{i}", t) for i, t in enumerate(asks)])
    items = (await committed_client.get(f"/api/v1/streams/{sid}/queue", headers=agents[0])).json()
    assert len(items) >= 5
    for item in items:
        url = f"/api/v1/streams/{sid}/queue/{item['id']}/claim"
        answers = await asyncio.gather(*(committed_client.post(url, headers=h) for h in agents))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409, 409, 409], codes
        winner = next(a for a in answers if a.status_code == 200).json()["claimed_by"]
        losers = [a.json() for a in answers if a.status_code == 409]
        assert all(x["claimed_by"] == winner for x in losers)
