"""The list of muted viewers (禁言名单) that the control console shows with lift-mute."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.models import ViewerMute
from tests.controls.conftest import Crew, Room, make_stream


def mutes_path(room: Room) -> str:
    return f"/api/v1/streams/{room.stream_id}/mutes"


async def mute(
    client: httpx.AsyncClient, room: Room, viewer: str, minutes: int, reason: str = ""
) -> None:
    r = await client.post(
        mutes_path(room),
        json={"viewer_id": viewer, "minutes": minutes, "reason": reason},
        headers=room.svc,
    )
    assert r.status_code == 201, r.text


async def test_the_list_shows_each_muted_viewer_once_until_lifted_or_over(
    client: httpx.AsyncClient, room: Room, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.get(mutes_path(room), headers=room.ctl)).json() == []
    await mute(client, room, "troll", 10, "刷屏")
    await mute(client, room, "troll", 60, "又刷屏")  # muted again: the later end counts
    await mute(client, room, "spammer", 5)
    await mute(client, room, "gone", 5)
    async with sessionmaker() as s:  # one mute already over
        await s.execute(
            update(ViewerMute)
            .where(ViewerMute.viewer_id == "gone")
            .values(until=utcnow() - timedelta(seconds=1))
        )
        await s.commit()

    r = await client.get(mutes_path(room), headers=room.ctl)
    assert r.status_code == 200, r.text
    listed = r.json()
    assert [(m["viewer_id"], m["reason"]) for m in listed] == [
        ("spammer", ""),
        ("troll", "又刷屏"),
    ]  # soonest to end first
    ends = [datetime.fromisoformat(m["until"]) for m in listed]
    assert timedelta(minutes=59) < ends[1] - utcnow() <= timedelta(minutes=60)

    assert (await client.delete(f"{mutes_path(room)}/troll", headers=room.ctl)).status_code == 204
    r = await client.get(mutes_path(room), headers=room.svc)
    assert [m["viewer_id"] for m in r.json()] == ["spammer"]


async def test_only_the_streams_controllers_and_service_see_its_mutes(
    client: httpx.AsyncClient, room: Room, crew: Crew
) -> None:
    await mute(client, room, "troll", 10)
    for headers in (room.ctl, room.svc, crew.admin):
        r = await client.get(mutes_path(room), headers=headers)
        assert r.status_code == 200 and [m["viewer_id"] for m in r.json()] == ["troll"]
    for headers in (room.host, room.analyst):
        r = await client.get(mutes_path(room), headers=headers)
        assert r.status_code == 403 and "detail" in r.json()
    # a controller and an agent of another stream's team
    other_ctl = await crew.user("ctl_other", "controller")
    other = await make_stream(client, other_ctl, "另一场")
    await crew.user("svc_other", "service")
    await crew.join(other, "svc_other", "service")
    for headers in (other_ctl, crew.token_for(crew.ids["svc_other"])):
        r = await client.get(mutes_path(room), headers=headers)
        assert r.status_code == 403 and "detail" in r.json()
        mine = await client.get(f"/api/v1/streams/{other}/mutes", headers=headers)
        assert mine.status_code == 200 and mine.json() == []  # the room's mutes stay there
    assert (await client.get(mutes_path(room))).status_code == 401


async def test_a_bad_or_unknown_stream_is_a_clear_4xx(
    client: httpx.AsyncClient, crew: Crew
) -> None:
    r = await client.get("/api/v1/streams/abc/mutes", headers=crew.admin)
    assert r.status_code == 422 and "detail" in r.json()
    r = await client.get("/api/v1/streams/999999/mutes", headers=crew.admin)
    assert r.status_code == 404 and "detail" in r.json()
