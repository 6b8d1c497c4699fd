"""Script segment control: next / previous / jump, the current segment, roles, races."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ScriptSegment, SegmentKind, StreamStatus
from tests.conftest import bearer, login
from tests.controls.conftest import Crew, EventLog, Room, make_stream, set_status


async def add_script(
    maker: async_sessionmaker[AsyncSession], stream_id: int, product_id: int | None = None
) -> list[int]:
    plan = [
        (SegmentKind.opening, "开场", None),
        (SegmentKind.product, "产品介绍", product_id),
        (SegmentKind.closing, "收尾", None),
    ]
    ids = []
    async with maker() as s:
        for i, (kind, title, pid) in enumerate(plan):
            seg = ScriptSegment(
                stream_id=stream_id,
                position=i + 1,
                kind=kind,
                title=title,
                start_offset_seconds=i * 300,
                duration_seconds=300,
                talking_points=[f"{title}要点"],
                product_id=pid,
            )
            s.add(seg)
            await s.flush()
            ids.append(seg.id)
        await s.commit()
    return ids


async def test_next_previous_jump_and_current(
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    s1, s2, s3 = await add_script(sessionmaker, room.stream_id, room.product_ids[0])
    url = f"/api/v1/streams/{room.stream_id}/segments"
    now = (await client.get(f"{url}/current", headers=room.svc)).json()
    assert now["current"] is None and now["next"]["id"] == s1 and now["total_segments"] == 3
    r = await client.post(f"{url}/previous", headers=room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "no_previous_segment"

    r = await client.post(f"{url}/next", headers=room.ctl)
    assert r.status_code == 200, r.text
    assert r.json()["current"]["id"] == s1 and r.json()["next"]["id"] == s2
    r = await client.post(f"{url}/next", headers=room.host)  # the host may move on
    body = r.json()
    assert body["current"]["title"] == "产品介绍" and body["previous"]["id"] == s1
    assert body["current"]["talking_points"] == ["产品介绍要点"]
    assert 0 <= body["elapsed_seconds"] <= 2 and 298 <= body["remaining_seconds"] <= 300
    r = await client.post(f"{url}/previous", headers=room.ctl)
    assert r.json()["current"]["id"] == s1
    r = await client.post(f"{url}/{s3}/jump", headers=room.ctl)
    assert r.json()["current"]["id"] == s3 and r.json()["next"] is None
    r = await client.post(f"{url}/next", headers=room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "no_next_segment"
    now = (await client.get(f"{url}/current", headers=room.analyst)).json()
    assert now["current"]["id"] == s3

    await events.wait_for("segment.changed", count=4)
    changes = [m["data"] for m in events.of("segment.changed")]
    assert [(c["how"], c["segment"]["id"], c["previous_segment_id"]) for c in changes] == [
        ("next", s1, None),
        ("next", s2, s1),
        ("previous", s1, s2),
        ("jump", s3, s1),
    ]
    assert changes[1]["by"]["username"] == "host"
    log = (await client.get(f"/api/v1/streams/{room.stream_id}/actions", headers=room.ctl)).json()
    assert [a["detail"]["how"] for a in log if a["action"] == "segment"] == [
        "jump",
        "previous",
        "next",
        "next",
    ]


async def test_segment_guard_roles_and_bad_input(
    client: httpx.AsyncClient,
    room: Room,
    crew: Crew,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    s1, s2, _ = await add_script(sessionmaker, room.stream_id)
    other_ctl = await crew.user("ctl9", "controller")
    other = await make_stream(client, other_ctl, "别的场")
    foreign = (await add_script(sessionmaker, other))[0]
    url = f"/api/v1/streams/{room.stream_id}/segments"
    # an explicit null means "the console shows no segment yet"
    r = await client.post(f"{url}/next", json={"expected_current": None}, headers=room.ctl)
    assert r.status_code == 200 and r.json()["current"]["id"] == s1
    r = await client.post(f"{url}/next", json={"expected_current": None}, headers=room.host)
    assert r.status_code == 409 and r.json()["code"] == "segment_moved"
    # a console that still shows "no segment" is refused instead of skipping s2
    r = await client.post(f"{url}/next", json={"expected_current": 999}, headers=room.host)
    assert r.status_code == 409 and r.json()["code"] == "segment_moved"
    assert r.json()["current_segment_id"] == s1
    r = await client.post(f"{url}/next", json={"expected_current": s1}, headers=room.host)
    assert r.status_code == 200 and r.json()["current"]["id"] == s2
    r = await client.post(f"{url}/{foreign}/jump", headers=room.ctl)
    assert r.status_code == 404 and r.json()["code"] == "segment_not_found"
    r = await client.post(f"{url}/next", json={"expected_current": "s1"}, headers=room.ctl)
    assert r.status_code == 422
    r = await client.post(f"{url}/next", json={"bogus": 1}, headers=room.ctl)
    assert r.status_code == 422
    for headers in (room.svc, room.analyst, other_ctl):
        for path in ("next", "previous", f"{s1}/jump"):
            r = await client.post(f"{url}/{path}", headers=headers)
            assert r.status_code == 403, (path, r.text)
    assert (await client.get(f"{url}/current", headers=other_ctl)).status_code == 403
    now = (await client.get(f"{url}/current", headers=room.ctl)).json()
    assert now["current"]["id"] == s2
    await set_status(sessionmaker, room.stream_id, StreamStatus.ended)
    r = await client.post(f"{url}/previous", headers=room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "stream_not_active"


async def test_racing_next_clicks_move_one_segment(
    committed_app: FastAPI, committed_client: httpx.AsyncClient
) -> None:
    """Host and controller press "next" on the same segment at once: it moves once."""
    admin = bearer(await login(committed_client, "admin"))
    sid = await make_stream(committed_client, admin, f"seg-race-{uuid.uuid4().hex[:6]}")
    maker = committed_app.state.sessionmaker
    s1, s2, _ = await add_script(maker, sid)
    await set_status(maker, sid, StreamStatus.live)
    url = f"/api/v1/streams/{sid}/segments"
    first = await asyncio.gather(
        *(committed_client.post(f"{url}/next", headers=admin) for _ in range(6))
    )
    # without a guard, racing first clicks never fail with 500 and create one cursor
    assert sorted(r.status_code for r in first) == [200, 200, 200, 409, 409, 409]
    r = await committed_client.post(f"{url}/{s1}/jump", headers=admin)
    assert r.status_code == 200
    results = await asyncio.gather(
        *(
            committed_client.post(f"{url}/next", json={"expected_current": s1}, headers=admin)
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409, 409, 409]
    now = (await committed_client.get(f"{url}/current", headers=admin)).json()
    assert now["current"]["id"] == s2
