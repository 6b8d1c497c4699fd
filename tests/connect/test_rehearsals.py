"""Rehearsals (彩排) kept apart: copies of the plan, no place in real comparisons,
replays of a recorded log, and `controlroom simulate` refusing real streams."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.db import utcnow
from app.models import LineupItem, ScriptSegment, SegmentKind, Stream, StreamEvent, StreamStatus
from app.simulate import SimulationError, require_rehearsal
from tests.connect.conftest import LiveRoom


async def rehearse(client: httpx.AsyncClient, room: LiveRoom, sid: int, start: bool = True) -> dict:  # type: ignore[type-arg]
    r = await client.post(
        f"/api/v1/streams/{sid}/rehearsals", json={"start": start}, headers=room.ctl
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_rehearsal_copies_the_plan_and_is_marked(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    maker = connect_app.state.sessionmaker
    sid = live_room.stream_id
    async with maker() as s:
        s.add(
            ScriptSegment(
                stream_id=sid,
                position=1,
                kind=SegmentKind.opening,
                title="开场",
                start_offset_seconds=0,
                duration_seconds=120,
                talking_points=["欢迎"],
            )
        )
        await s.execute(update(LineupItem).where(LineupItem.stream_id == sid).values(sold_units=7))
        await s.commit()
    r = await cclient.post(f"/api/v1/streams/{sid}/rehearsals", headers=live_room.analyst)
    assert r.status_code == 403
    rehearsal = await rehearse(cclient, live_room, sid)
    assert rehearsal["is_rehearsal"] is True and rehearsal["rehearsal_of"] == sid
    assert rehearsal["status"] == "live" and rehearsal["title"].startswith("彩排")
    rid = rehearsal["id"]
    async with maker() as s:
        lineup = (
            await s.execute(
                select(
                    LineupItem.product_id,
                    LineupItem.live_price,
                    LineupItem.allotted_stock,
                    LineupItem.sold_units,
                )
                .where(LineupItem.stream_id == rid)
                .order_by(LineupItem.position)
            )
        ).all()
        segments = (
            await s.scalars(select(ScriptSegment.title).where(ScriptSegment.stream_id == rid))
        ).all()
    assert [row.product_id for row in lineup] == live_room.product_ids
    assert all(row.sold_units == 0 and row.live_price == Decimal("59.90") for row in lineup)
    assert list(segments) == ["开场"]
    # The team came along: the analyst may read the rehearsal.
    r = await cclient.get(f"/api/v1/streams/{rid}", headers=live_room.analyst)
    assert r.status_code == 200 and r.json()["is_rehearsal"] is True
    r = await cclient.post(f"/api/v1/streams/{rid}/rehearsals", headers=live_room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "already_rehearsal"


async def test_rehearsal_figures_stay_out_of_real_comparisons(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    maker = connect_app.state.sessionmaker
    a = live_room.stream_id
    rehearsal = await rehearse(cclient, live_room, a)
    r2 = await cclient.post("/api/v1/streams", json={"title": "第二场"}, headers=live_room.ctl)
    b = r2.json()["id"]
    now = utcnow()
    async with maker() as s:
        for sid, hours in ((a, 3), (rehearsal["id"], 2), (b, 1)):
            await s.execute(
                update(Stream)
                .where(Stream.id == sid)
                .values(
                    status=StreamStatus.ended,
                    started_at=now - timedelta(hours=hours),
                    ended_at=now - timedelta(hours=hours) + timedelta(minutes=30),
                )
            )
        await s.commit()
    review = await cclient.get(f"/api/v1/streams/{b}/review", headers=live_room.ctl)
    assert review.status_code == 200, review.text
    assert review.json()["comparison"]["stream_ids"] == [a]
    # The rehearsal's own review still compares with the real streams before it.
    own = await cclient.get(f"/api/v1/streams/{rehearsal['id']}/review", headers=live_room.ctl)
    assert own.json()["comparison"]["stream_ids"] == [a]


async def test_replay_a_past_log_at_speed(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    maker = connect_app.state.sessionmaker
    source = live_room.stream_id
    p1 = live_room.product_ids[0]
    t0 = utcnow() - timedelta(days=1)
    recorded = [
        (0.0, "viewer_join", "v1", None, None, None),
        (0.5, "comment", "v1", None, "有没有S码？", None),
        (1.0, "viewer_join", "v2", None, None, None),
        (2.0, "product_click", "v2", p1, None, None),
        (2.0, "product_click", "v2", 999999, None, None),  # not in the lineup: skipped
        (3.0, "order_paid", "v2", p1, None, Decimal("59.90")),
        (4.0, "comment", "v2", None, "已拍", None),
    ]
    async with maker() as s:
        for offset, kind, viewer, pid, text, amount in recorded:
            s.add(
                StreamEvent(
                    stream_id=source,
                    event_id=f"rec-{offset}-{kind}-{pid}",
                    type=kind,
                    viewer_id=viewer,
                    ts=t0 + timedelta(seconds=offset),
                    product_id=pid,
                    text=text,
                    amount=amount,
                    quantity=1 if kind == "order_paid" else None,
                    source="feed" if kind == "viewer_join" else None,
                )
            )
        await s.commit()
    rehearsal = await rehearse(cclient, live_room, source)
    rid = rehearsal["id"]
    # The source must be a past real stream; the target a live rehearsal; speed 1–20.
    r = await cclient.post(
        f"/api/v1/streams/{rid}/replay",
        json={"source_stream_id": source, "speed": 20},
        headers=live_room.ctl,
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_source"
    async with maker() as s:
        await s.execute(update(Stream).where(Stream.id == source).values(status=StreamStatus.ended))
        await s.commit()
    r = await cclient.post(
        f"/api/v1/streams/{rid}/replay",
        json={"source_stream_id": source, "speed": 21},
        headers=live_room.ctl,
    )
    assert r.status_code == 422
    r = await cclient.post(
        f"/api/v1/streams/{source}/replay",
        json={"source_stream_id": source, "speed": 2},
        headers=live_room.ctl,
    )
    assert r.status_code == 409 and r.json()["code"] == "not_a_rehearsal"
    r = await cclient.post(
        f"/api/v1/streams/{rid}/replay",
        json={"source_stream_id": source, "speed": 2},
        headers=live_room.analyst,
    )
    assert r.status_code == 403

    started = time.monotonic()
    r = await cclient.post(
        f"/api/v1/streams/{rid}/replay",
        json={"source_stream_id": source, "speed": 4},
        headers=live_room.ctl,
    )
    assert r.status_code == 202, r.text
    assert r.json()["total"] == 7 and r.json()["state"] == "running"
    again = await cclient.post(
        f"/api/v1/streams/{rid}/replay",
        json={"source_stream_id": source, "speed": 4},
        headers=live_room.ctl,
    )
    assert again.status_code == 409 and again.json()["code"] == "replay_running"
    while True:
        view = (
            await cclient.get(f"/api/v1/streams/{rid}/replay", headers=live_room.analyst)
        ).json()
        if view["state"] != "running":
            break
        assert time.monotonic() - started < 10
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    assert view["state"] == "done" and view["sent"] == 6 and view["skipped"] == 1, view
    # 4 s of log at 4×: about 1 s (not at once, and not at 1×).
    assert 0.9 <= elapsed < 3.5, elapsed
    async with maker() as s:
        replayed = (
            await s.execute(
                select(StreamEvent.type, StreamEvent.viewer_id, StreamEvent.text, StreamEvent.ts)
                .where(StreamEvent.stream_id == rid)
                .order_by(StreamEvent.id)
            )
        ).all()
    assert [(e.type, e.viewer_id, e.text) for e in replayed] == [
        (kind, viewer, text) for _, kind, viewer, pid, text, _ in recorded if pid != 999999
    ]
    # Their times keep the recorded spacing divided by the speed: 0, .125, .25, .5, .75, 1 s.
    offsets = [(e.ts - replayed[0].ts).total_seconds() for e in replayed]
    assert offsets == pytest.approx([0.0, 0.125, 0.25, 0.5, 0.75, 1.0], abs=0.002)
    metrics = (await cclient.get(f"/api/v1/streams/{rid}/metrics", headers=live_room.ctl)).json()
    assert metrics["gmv"] == "59.90" and metrics["comments"] == 2
    # The source's log is untouched.
    async with maker() as s:
        n = len(
            (await s.scalars(select(StreamEvent.id).where(StreamEvent.stream_id == source))).all()
        )
    assert n == 7


async def test_simulate_refuses_a_real_stream_unless_told(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    import uvicorn

    from tests.conftest import free_port

    sid = live_room.stream_id
    rehearsal = await rehearse(cclient, live_room, sid)
    keys = {}
    for target in (sid, rehearsal["id"]):
        r = await cclient.post(
            f"/api/v1/streams/{target}/ingest-keys", json={}, headers=live_room.ctl
        )
        keys[target] = r.json()["key"]
    r = await cclient.get(f"/api/v1/streams/{sid}/ingest-check", headers={"X-Ingest-Key": "bad"})
    assert r.status_code == 401
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            connect_app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            await require_rehearsal(url, sid, keys[sid])
            raise AssertionError("a real stream was not refused")
        except SimulationError as exc:
            assert "not a rehearsal" in str(exc) and "--i-know" in str(exc)
        await require_rehearsal(url, rehearsal["id"], keys[rehearsal["id"]])
        # The command itself, as a process: one line, exit 1, nothing sent.
        env = {**os.environ, "CONTROLROOM_URL": url}
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "app.cli",
                "simulate",
                str(sid),
                "--key",
                keys[sid],
                "--duration",
                "0.5",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert (
            done.stderr.strip().startswith("error: stream")
            and len(done.stderr.strip().splitlines()) == 1
        )
    finally:
        server.should_exit = True
        await task
    async with connect_app.state.sessionmaker() as s:
        sent = (await s.scalars(select(StreamEvent.id).where(StreamEvent.stream_id == sid))).all()
    assert sent == []


async def test_a_replay_stops_when_asked_or_when_the_rehearsal_ends(
    connect_app: FastAPI, cclient: httpx.AsyncClient, live_room: LiveRoom
) -> None:
    """Stopped by DELETE at once; and when the rehearsal ends while the replay waits for
    an event far ahead, it stops by itself (at its next claim renewal), not hours later."""
    maker = connect_app.state.sessionmaker
    source = live_room.stream_id
    t0 = utcnow() - timedelta(days=1)
    async with maker() as s:
        for n, offset in enumerate((0, 3600)):  # the second event an hour later
            s.add(
                StreamEvent(
                    stream_id=source,
                    event_id=f"far-{n}",
                    type="viewer_join",
                    viewer_id=f"v{n}",
                    ts=t0 + timedelta(seconds=offset),
                )
            )
        await s.execute(update(Stream).where(Stream.id == source).values(status=StreamStatus.ended))
        await s.commit()
    rid = (await rehearse(cclient, live_room, source))["id"]
    url = f"/api/v1/streams/{rid}/replay"
    r = await cclient.get(url, headers=live_room.ctl)
    assert r.status_code == 404 and r.json()["code"] == "replay_not_found"

    async def until_sent_one() -> None:
        deadline = time.monotonic() + 10
        while (await cclient.get(url, headers=live_room.ctl)).json()["sent"] < 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

    body = {"source_stream_id": source, "speed": 1}
    assert (await cclient.post(url, json=body, headers=live_room.ctl)).status_code == 202
    await until_sent_one()
    assert (await cclient.delete(url, headers=live_room.analyst)).status_code == 403
    stopped = await cclient.delete(url, headers=live_room.ctl)
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped", stopped.text
    # Stopped is not running: a new replay may start; this one the rehearsal's end stops.
    second = await cclient.post(url, json=body, headers=live_room.ctl)
    assert second.status_code == 202 and second.json()["id"] != stopped.json()["id"]
    await until_sent_one()
    r = await cclient.post(f"/api/v1/streams/{rid}/end", headers=live_room.ctl)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10  # the claim is renewed every 2 s ÷ 3 here
    while (view := (await cclient.get(url, headers=live_room.ctl)).json())["state"] == "running":
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.05)
    assert view["state"] == "stopped" and view["error"] == "the rehearsal is no longer live"
    assert view["sent"] == 1
