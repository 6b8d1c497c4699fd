"""A comment flood stays a readable queue: merged items, not a wall of messages."""

from __future__ import annotations

import random
import time

import httpx
from fastapi import FastAPI

from tests.controls.conftest import Room
from tests.queue.conftest import take_in

NOISE = ["来了", "扣1", "666", "主播好美", "已拍", "哈哈哈", "1", "好看", "拍了", "晚上好"]
QUESTIONS = [
    ["尺码怎么选", "请问尺码怎么选", "尺码怎么选呀", "主播尺码怎么选？"],
    ["什么时候发货", "啥时候发货", "几号发货啊", "什么时候发货呀"],
    ["多少钱", "现在多少钱", "这个多少钱", "多少钱啊"],
    ["有优惠券吗", "优惠券在哪领", "有没有优惠券"],
    ["运费多少", "运费多少钱", "要运费吗"],
]
COMPLAINTS = ["快递一个礼拜了还没到 差评", "物流三天没动了 到底发没发"]
SPAM = ["加V看更多低价同款 vx：abc8866", "兼职刷单 日结300 加Q", "主播全家都是骗子"]


async def test_two_thousand_comments_become_a_handful_of_ranked_items(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    rng = random.Random(7)
    comments = []
    for _ in range(2000):
        roll = rng.random()
        if roll < 0.70:
            text = rng.choice(NOISE)
        elif roll < 0.90:
            text = rng.choice(rng.choice(QUESTIONS))
        elif roll < 0.95:
            text = rng.choice(COMPLAINTS)
        else:
            text = rng.choice(SPAM)
        comments.append((f"v{rng.randrange(600)}", text))
    start = time.perf_counter()
    for i in range(0, len(comments), 200):
        await take_in(app, room.stream_id, comments[i : i + 200])
    elapsed = time.perf_counter() - start
    print(
        f"\nintake: {len(comments) / elapsed:,.0f} comments/s through PostgreSQL (batches of 200)"
    )

    items = (await client.get(f"/api/v1/streams/{room.stream_id}/queue", headers=room.svc)).json()
    print("\n".join(i["label"] for i in items))
    assert len(items) <= 10, [i["label"] for i in items]
    questions = [i for i in items if i["kind"] == "question"]
    assert len(questions) >= 4
    assert all(i["asker_count"] >= 20 for i in questions[:4])
    assert {i["topic"] for i in questions} >= {"product", "logistics", "promo"}
    # noise and spam never become items; the host sees no spam
    host = await client.get(
        f"/api/v1/streams/{room.stream_id}/comments", params={"limit": 500}, headers=room.host
    )
    assert not any(c["blocked"] for c in host.json())
    assert not any("vx" in c["text"] for c in host.json())
