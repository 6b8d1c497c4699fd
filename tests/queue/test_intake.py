"""Comment intake: classification, moderation, merging into the queue, events."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.services.comments import IncomingComment
from tests.controls.conftest import EventLog, Room
from tests.queue.conftest import take_in


async def queue(client: httpx.AsyncClient, room: Room) -> list[dict]:  # type: ignore[type-arg]
    r = await client.get(f"/api/v1/streams/{room.stream_id}/queue", headers=room.svc)
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_similar_questions_merge_into_one_item_with_count_and_askers(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    asks = ["尺码怎么选", "请问尺码怎么选呀", "主播 尺码怎么选？", "尺码怎么选啊", "尺码怎么选"]
    await take_in(app, room.stream_id, [(f"v{i}", t) for i, t in enumerate(asks)])
    # the same viewer again, and chit-chat / purchases that must not become items
    await take_in(app, room.stream_id, [("v0", "尺码怎么选？？"), ("v9", "来了"), ("v8", "已拍")])
    items = await queue(client, room)
    assert len(items) == 1
    item = items[0]
    assert item["kind"] == "question" and item["topic"] == "product"
    assert item["asker_count"] == 5  # distinct viewers
    assert item["mention_count"] == 6
    assert item["label"] == "尺码怎么选 ×5"
    assert item["status"] == "open" and item["sla_seconds_left"] > 0

    r = await client.get(f"/api/v1/streams/{room.stream_id}/queue/{item['id']}", headers=room.svc)
    assert r.status_code == 200
    assert {a["viewer_id"] for a in r.json()["askers"]} == {f"v{i}" for i in range(5)}


async def test_different_questions_and_complaints_stay_apart_and_rank(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    await take_in(
        app,
        room.stream_id,
        [
            ("a1", "什么时候发货"),
            ("a2", "啥时候发货"),
            ("a3", "几号发货啊"),
            ("b1", "有优惠券吗"),
            ("c1", "快递一个礼拜了还没到 差评"),
            ("c2", "物流三天没动了 到底发没发"),
        ],
    )
    items = await queue(client, room)
    by_kind = {(i["kind"], i["topic"]): i for i in items}
    assert by_kind[("question", "logistics")]["asker_count"] == 3
    assert by_kind[("question", "promo")]["asker_count"] == 1
    assert ("complaint", "logistics") in by_kind
    assert items[0]["score"] >= items[-1]["score"]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


async def test_blocked_comments_reach_only_the_controller_marked(
    app: FastAPI, client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    result = await take_in(
        app,
        room.stream_id,
        [
            ("s1", "加 薇 信 a1b2c3 送同款"),
            ("s2", "主播好美"),
            ("s3", "扣扣 一三八一二三四五六七八"),
        ],
    )
    assert [c.blocked for c in result.comments] == [True, False, True]
    host = await client.get(f"/api/v1/streams/{room.stream_id}/comments", headers=room.host)
    assert [c["text"] for c in host.json()] == ["主播好美"]
    ctl = await client.get(f"/api/v1/streams/{room.stream_id}/comments", headers=room.ctl)
    marked = {c["viewer_id"]: c for c in ctl.json()}
    assert marked["s1"]["blocked"] and marked["s1"]["block_reason"] == "contact"
    assert marked["s3"]["blocked"]

    await events.wait_for("comment.new", 2)
    for message in events.of("comment.new"):
        texts = {c["text"] for c in message["data"]["comments"]}
        if any(c["blocked"] for c in message["data"]["comments"]):
            # the blocked batch: controller and admin only, never the host or viewers
            assert set(message["roles"]) == {"admin", "controller"}
            assert "主播好美" not in texts
        else:
            assert "viewer" in message["roles"] and "host" in message["roles"]
            assert texts == {"主播好美"}
    assert not (await queue(client, room))  # spam never becomes a queue item


async def test_stream_blocked_words_and_mutes(
    app: FastAPI, client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    base = f"/api/v1/streams/{room.stream_id}"
    r = await client.post(f"{base}/blocked-words", json={"words": ["竞品店"]}, headers=room.ctl)
    assert r.status_code == 201 and r.json()[0]["word"] == "竞品店"
    again = await client.post(f"{base}/blocked-words", json={"words": ["竞品店"]}, headers=room.ctl)
    assert again.status_code == 201 and again.json() == []
    # the other control consoles reload the list: once, for the word that was new
    await events.wait_for("blocked_words.changed")
    (changed,) = events.of("blocked_words.changed")
    assert changed["data"] == {"added": ["竞品店"], "removed": []}
    assert sorted(changed["roles"]) == ["admin", "controller"]
    assert (
        await client.post(f"{base}/blocked-words", json={"words": ["x"]}, headers=room.svc)
    ).status_code == 403

    r = await client.post(
        f"{base}/mutes", json={"viewer_id": "troll", "minutes": 10}, headers=room.svc
    )
    assert r.status_code == 201, r.text
    result = await take_in(
        app,
        room.stream_id,
        [("v1", "去 竞.品.店 买更便宜"), ("troll", "尺码怎么选"), ("v2", "尺码怎么选")],
    )
    reasons = [(c.blocked, c.block_reason) for c in result.comments]
    assert reasons == [(True, "blocked_word"), (True, "muted"), (False, None)]
    items = await queue(client, room)
    assert len(items) == 1 and items[0]["asker_count"] == 1  # the muted viewer is not counted

    assert (await client.delete(f"{base}/mutes/troll", headers=room.svc)).status_code == 204
    await events.wait_for("viewer.unmuted")
    assert events.of("viewer.unmuted")[0]["data"] == {"viewer_id": "troll"}
    result = await take_in(app, room.stream_id, [("troll", "好的")])
    assert not result.comments[0].blocked
    # lifting a mute that is not there changes nothing and tells no one
    assert (await client.delete(f"{base}/mutes/troll", headers=room.svc)).status_code == 204
    listed = (await client.get(f"{base}/blocked-words", headers=room.ctl)).json()
    (word_id,) = [w["id"] for w in listed if w["word"] == "竞品店"]
    r = await client.delete(f"{base}/blocked-words/{word_id}", headers=room.ctl)
    assert r.status_code == 204
    await events.wait_for("blocked_words.changed", count=2)
    assert events.of("blocked_words.changed")[1]["data"] == {"added": [], "removed": ["竞品店"]}
    assert len(events.of("viewer.unmuted")) == 1


async def test_repeated_event_ids_are_taken_in_once(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    batch = [
        IncomingComment("v1", "运费多少", event_id="e1"),
        IncomingComment("v1", "运费多少", event_id="e1"),
    ]
    first = await take_in(app, room.stream_id, batch)
    second = await take_in(app, room.stream_id, batch)
    assert (first.accepted, first.duplicates) == (1, 1)
    assert (second.accepted, second.duplicates) == (0, 2)
    # The merge is planned before the insert: a repeat whose item was dismissed would
    # open a new item, and the item must go again when the insert refuses the repeat.
    (item,) = await queue(client, room)
    base = f"/api/v1/streams/{room.stream_id}/queue/{item['id']}"
    assert (await client.post(f"{base}/dismiss", headers=room.svc)).status_code == 200
    again = await take_in(app, room.stream_id, [*batch, ("v2", "怎么还没发货")])
    assert (again.accepted, again.duplicates) == (1, 2)
    r = await client.get(
        f"/api/v1/streams/{room.stream_id}/queue",
        params={"status": ["open", "claimed", "answered", "dismissed"]},
        headers=room.svc,
    )
    assert sorted((i["title"], i["mention_count"]) for i in r.json()) == [
        ("怎么还没发货", 1),
        ("运费多少", 1),
    ]


async def test_hide_and_pin_a_comment(
    app: FastAPI, client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    result = await take_in(app, room.stream_id, [("v1", "这件好好看"), ("v2", "主播好美")])
    first, second = (c.id for c in result.comments)
    base = f"/api/v1/streams/{room.stream_id}"
    assert (await client.post(f"{base}/comments/{first}/hide", headers=room.svc)).json()["hidden"]
    host = await client.get(f"{base}/comments", headers=room.host)
    assert [c["id"] for c in host.json()] == [second]
    assert (await client.post(f"{base}/comments/{first}/pin", headers=room.svc)).status_code == 409

    r = await client.post(f"{base}/comments/{second}/pin", headers=room.svc)
    assert r.status_code == 200 and r.json()["text"] == "主播好美"
    pin = await client.get(f"{base}/pin")  # the watch page reads it without a token
    assert pin.json()["pin"]["comment_id"] == second
    await events.wait_for("pin.changed")
    assert "viewer" in events.of("pin.changed")[0]["roles"]
    assert (await client.delete(f"{base}/pin", headers=room.svc)).status_code == 204
    assert (await client.get(f"{base}/pin")).json() == {"pin": None}
    # the host may read comments but not moderate them
    assert (
        await client.post(f"{base}/comments/{second}/hide", headers=room.host)
    ).status_code == 403


async def test_alert_inputs_count_negative_comments_and_the_oldest_question(
    app: FastAPI, room: Room
) -> None:
    from app.services.queue_state import alert_inputs  # what alerts.metrics_point reads

    live = app.state.live
    async with app.state.sessionmaker() as s:
        empty = await alert_inputs(s, live, room.stream_id)
    assert empty == {
        "negative_comments": 0,
        "oldest_question_wait_seconds": None,
        "question_sla_seconds": 120,
    }
    await take_in(
        app,
        room.stream_id,
        [
            ("v1", "快递一个礼拜了还没到 差评"),
            ("v2", "什么破快递"),
            ("v3", "尺码怎么选"),
            ("v4", "好看"),
        ],
    )
    async with app.state.sessionmaker() as s:
        got = await alert_inputs(s, live, room.stream_id)
    assert got["negative_comments"] == 2
    assert got["oldest_question_wait_seconds"] is not None
    assert 0 <= got["oldest_question_wait_seconds"] < 60


async def test_ingested_comments_are_moderated_and_queued_once(
    client: httpx.AsyncClient, room: Room
) -> None:
    sid = room.stream_id
    r = await client.post(f"/api/v1/streams/{sid}/ingest-keys", headers=room.ctl)
    assert r.status_code == 201, r.text
    key = {"X-Ingest-Key": r.json()["key"]}
    batch = {
        "events": [
            {"type": "comment", "user_id": "p1", "text": "运费多少", "event_id": "c1"},
            {"type": "comment", "user_id": "p2", "text": "运费多少钱", "event_id": "c2"},
            {"type": "comment", "user_id": "p3", "text": "加V看更多低价同款 vx：abc8866"},
            {"type": "like", "user_id": "p4"},
        ]
    }
    for _ in range(2):  # a retried batch changes nothing
        r = await client.post(f"/api/v1/streams/{sid}/events", json=batch, headers=key)
        assert r.status_code == 202, r.text
    items = (await client.get(f"/api/v1/streams/{sid}/queue", headers=room.svc)).json()
    assert [(i["topic"], i["asker_count"], i["mention_count"]) for i in items] == [
        ("logistics", 2, 2)
    ]
    ctl = (await client.get(f"/api/v1/streams/{sid}/comments", headers=room.ctl)).json()
    spam = [c for c in ctl if c["viewer_id"] == "p3"]
    # no event_id: the retry is a second comment (the platform gave no key to dedupe by)
    assert len(spam) == 2 and all(c["blocked"] for c in spam)
    host = (await client.get(f"/api/v1/streams/{sid}/comments", headers=room.host)).json()
    assert {c["viewer_id"] for c in host} == {"p1", "p2"}


async def test_a_complaint_is_never_dropped_from_the_queue_by_moderation(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    """「骗子」「假的」 in a buyer's complaint is not abuse (not blocked at all); a complaint
    a stream's own word or a mute hides from the public is still queued as a complaint."""
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/blocked-words",
        json={"words": ["山寨"]},
        headers=room.ctl,
    )
    assert r.status_code in (200, 201), r.text
    result = await take_in(
        app,
        room.stream_id,
        [
            ("c1", "收到的包是假的 专柜验过了 你们就是骗子 我要退款"),
            ("c2", "发来的是山寨货 跟直播间的不一样 要求退货"),
            ("s1", "主播骗子 全家骗子"),
        ],
    )
    genuine, hidden, insult = result.comments
    assert (genuine.kind, genuine.blocked) == ("complaint", False)
    assert (hidden.kind, hidden.blocked, hidden.block_reason) == (
        "complaint",
        True,
        "blocked_word",
    )
    assert (insult.kind, insult.blocked) == ("spam", True)
    items = await queue(client, room)
    queued = {i["title"] for i in items if i["kind"] == "complaint"}
    assert genuine.text in queued and hidden.text in queued
    assert insult.text not in {i["title"] for i in items}
    # the public sees neither the hidden complaint nor the insult
    host = await client.get(f"/api/v1/streams/{room.stream_id}/comments", headers=room.host)
    assert [c["text"] for c in host.json()] == [genuine.text]
