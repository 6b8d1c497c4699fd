"""Learning from the team: an agent corrects a comment; the correction is stored with who
and when, changes the next classification of that stream only, is exported as training
data and counted in the review."""

from __future__ import annotations

import csv
import io

import httpx
import orjson
from fastapi import FastAPI

from app.models import StreamStatus
from app.text import classify
from tests.controls.conftest import Crew, Room, make_stream, set_status
from tests.queue.conftest import take_in

TEXT = "这个颜色我妈肯定喜欢"


async def test_a_correction_changes_the_next_classification_for_that_team_only(
    app: FastAPI, client: httpx.AsyncClient, room: Room, crew: Crew
) -> None:
    other = await make_stream(client, crew.admin, "另一场")
    await set_status(app.state.sessionmaker, other, StreamStatus.live)
    before = classify(TEXT)
    assert before.kind != "question"  # the model does not read it as a question

    (first,) = (await take_in(app, room.stream_id, [("v1", TEXT)])).comments
    base = f"/api/v1/streams/{room.stream_id}"
    r = await client.post(
        f"{base}/comments/{first.id}/correction",
        json={"kind": "question", "topic": "product", "sentiment": "neutral"},
        headers=room.svc,
    )
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored["was"]["kind"] == before.kind
    assert (stored["kind"], stored["topic"]) == ("question", "product")
    assert stored["corrected_by"] == crew.ids["svc"] and stored["created_at"]

    # the corrected comment is now a question in the service queue
    queue = (await client.get(f"{base}/queue", headers=room.svc)).json()
    assert [i["title"] for i in queue] == [TEXT]

    # the next comment with that text (disguised a little) on this stream takes the labels
    (again,) = (await take_in(app, room.stream_id, [("v2", "这个颜色 我妈肯定喜欢！")])).comments
    assert (again.kind, again.topic, again.sentiment) == ("question", "product", "neutral")
    # on another team's stream nothing changed
    (elsewhere,) = (await take_in(app, other, [("v3", TEXT)])).comments
    assert elsewhere.kind == before.kind

    # exported as training data, in the labelled-data format plus who and when
    r = await client.get(f"{base}/comment-corrections/export", headers=room.analyst)
    assert r.status_code == 200
    rows = [orjson.loads(line) for line in r.text.splitlines()]
    assert [(x["text"], x["kind"], x["topic"], x["blocked"]) for x in rows] == [
        (TEXT, "question", "product", False)
    ]
    r = await client.get(f"{base}/comment-corrections/export?format=csv", headers=room.ctl)
    (row,) = list(csv.DictReader(io.StringIO(r.text)))
    assert row["kind"] == "question" and row["corrected_by"] == str(crew.ids["svc"])

    # counted in the review
    review = await client.get(f"/api/v1/streams/{room.stream_id}/review", headers=room.ctl)
    assert review.status_code == 200, review.text
    counts = review.json()["questions"]["classifier_corrections"]
    assert counts["corrections"] == 1 and counts["comments_corrected"] == 1
    assert 0 < counts["corrected_share"] <= 1


async def test_block_and_unblock_a_comment(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    base = f"/api/v1/streams/{room.stream_id}"
    (c,) = (await take_in(app, room.stream_id, [("v1", "这家店的东西在别处买更划算")])).comments
    r = await client.post(
        f"{base}/comments/{c.id}/correction", json={"kind": "spam"}, headers=room.ctl
    )
    assert r.status_code == 201, r.text
    assert (r.json()["blocked"], r.json()["topic"]) == (True, "none")
    host = (await client.get(f"{base}/comments", headers=room.host)).json()
    assert c.text not in [x["text"] for x in host]
    (next_one,) = (await take_in(app, room.stream_id, [("v2", c.text)])).comments
    assert next_one.blocked and next_one.block_reason == "corrected"

    r = await client.post(
        f"{base}/comments/{c.id}/correction",
        json={"kind": "chitchat", "blocked": False},
        headers=room.svc,
    )
    assert r.status_code == 201, r.text
    (third,) = (await take_in(app, room.stream_id, [("v3", c.text)])).comments
    assert (third.kind, third.blocked) == ("chitchat", False)


async def test_corrections_need_the_right_role_and_good_input(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    base = f"/api/v1/streams/{room.stream_id}"
    (c,) = (await take_in(app, room.stream_id, [("v1", "尺码怎么选")])).comments
    url = f"{base}/comments/{c.id}/correction"
    for headers in (room.host, room.analyst):
        r = await client.post(url, json={"kind": "chitchat"}, headers=headers)
        assert r.status_code == 403
    cases = [
        ({}, 422, "nothing_to_correct"),
        ({"kind": "rant"}, 422, None),
        ({"topic": "none"}, 422, "topic_required"),
        ({"kind": c.kind, "topic": c.topic}, 409, "nothing_changed"),
    ]
    for body, status, code in cases:
        r = await client.post(url, json=body, headers=room.svc)
        assert r.status_code == status, (body, r.text)
        if code:
            assert r.json()["code"] == code
    r = await client.post(
        f"{base}/comments/999999/correction", json={"kind": "spam"}, headers=room.svc
    )
    assert r.status_code == 404
    listed = (await client.get(f"{base}/comment-corrections", headers=room.svc)).json()
    assert listed == []  # nothing was stored by the refused requests
