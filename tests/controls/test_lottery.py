"""Lotteries (福袋): commitment, eligibility from the event log, a verifiable draw."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Lottery, StreamStatus
from app.security import create_token
from app.services.lottery import (
    draw_due,
    draw_winners,
    eligible_hash,
    entries_hash,
    entry_of,
    seed_hash,
)
from tests.conftest import bearer, login
from tests.controls.conftest import (
    Crew,
    EventLog,
    Room,
    make_stream,
    set_status,
)

NOW = datetime.now(UTC)


async def log_events(
    maker: async_sessionmaker[AsyncSession],
    stream_id: int,
    events: Sequence[tuple[str, str, datetime, str | None]],
) -> None:
    """Rows in the live path's durable event log: (type, viewer_id, ts, text)."""
    async with maker() as s:
        for type_, viewer, ts, body in events:
            await s.execute(
                text(
                    "INSERT INTO stream_events (stream_id, type, viewer_id, ts, received_at, text)"
                    " VALUES (:sid, :type, :viewer, :ts, :ts, :text)"
                ),
                {"sid": stream_id, "type": type_, "viewer": viewer, "ts": ts, "text": body},
            )
        await s.commit()


def reference_winners(seed_hex: str, eligible: list[str], k: int) -> list[str]:
    """The documented algorithm, written out independently of the app's code."""
    key = bytes.fromhex(seed_hex)
    scores = {v: hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in eligible}
    return sorted(eligible, key=lambda v: (scores[v], v))[:k]


def documented_checker() -> Callable[..., bool]:
    """The check_draw snippet from docs/live-controls.md, run as a reader would."""
    doc = (Path(__file__).parents[2] / "docs" / "live-controls.md").read_text("utf-8")
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "live-controls.md", "exec"), namespace)
    checker: Callable[..., bool] = namespace["check_draw"]
    return checker


def test_draw_is_a_documented_function_of_seed_and_eligible_set() -> None:
    seed = "ab" * 32
    viewers = [f"u{i}" for i in range(50)]
    winners = draw_winners(seed, viewers, 5)
    assert winners == reference_winners(seed, viewers, 5)
    assert draw_winners(seed, list(reversed(viewers)) + viewers[:3], 5) == winners
    assert draw_winners("cd" * 32, viewers, 5) != winners
    assert draw_winners(seed, ["only"], 3) == ["only"] and draw_winners(seed, [], 3) == []
    assert seed_hash(seed) == hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    assert eligible_hash(["b", "a"]) == hashlib.sha256(b"a\nb").hexdigest()


async def create(client: httpx.AsyncClient, room: Room, **body: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/streams/{room.stream_id}/lotteries", json=body, headers=room.ctl
    )


async def test_keyword_lottery_commits_draws_once_and_verifies(
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await log_events(sessionmaker, room.stream_id, [("comment", "early", NOW, "想要想要")])
    r = await create(
        client,
        room,
        prize="保温杯",
        winners_count=2,
        condition="comment",
        keyword="想要",
        duration_seconds=300,
    )
    assert r.status_code == 201, r.text
    lottery = r.json()
    assert lottery["status"] == "open" and lottery["seed"] is None and lottery["winners"] == []
    commitment = lottery["seed_hash"]
    later = datetime.now(UTC)  # after the start, before the draw
    await log_events(
        sessionmaker,
        room.stream_id,
        [("comment", f"v{i}", later, f"我想要{i}") for i in range(1, 6)]
        + [
            ("comment", "v1", later, "想要!"),  # twice: one entry
            ("comment", "v6", later, "好看"),  # no keyword
            ("follow", "v7", later, None),  # not the condition
            ("comment", "late", later + timedelta(hours=1), "想要"),  # after the draw
        ],
    )
    url = f"/api/v1/streams/{room.stream_id}/lotteries/{lottery['id']}"
    r = await client.get(f"{url}/verify")
    assert r.status_code == 409 and r.json()["code"] == "not_drawn"

    r = await client.post(f"{url}/draw", headers=room.ctl)
    assert r.status_code == 200, r.text
    drawn = r.json()
    eligible = [f"v{i}" for i in range(1, 6)]
    assert drawn["status"] == "drawn" and drawn["eligible_count"] == 5
    assert drawn["seed_hash"] == commitment == seed_hash(drawn["seed"])
    assert drawn["winners"] == reference_winners(drawn["seed"], eligible, 2)
    assert drawn["eligible_hash"] == eligible_hash(eligible)

    # drawing again changes nothing and announces nothing
    again = (await client.post(f"{url}/draw", headers=room.ctl)).json()
    assert again == drawn
    await events.wait_for("lottery.drawn")
    await events.settle()
    # one announcement per audience: the staff's with raw ids, the watch page's masked
    staff_event, public_event = sorted(events.of("lottery.drawn"), key=lambda m: m["roles"])
    assert "viewer" not in staff_event["roles"] and public_event["roles"] == ["viewer"]
    assert len(events.of("lottery.started")) == 1
    assert events.of("lottery.started")[0]["data"]["seed"] is None
    assert events.of("lottery.started")[0]["data"]["seed_hash"] == commitment
    assert staff_event["data"]["winners"] == drawn["winners"]
    assert public_event["data"]["winners"] == [w[0] + "*" * (len(w) - 1) for w in drawn["winners"]]
    entries = sorted(entry_of(drawn["seed"], v) for v in eligible)
    assert public_event["data"]["winner_entries"] == entries[:2]
    assert public_event["data"]["entries_hash"] == entries_hash(entries)
    assert not any(v in str(public_event["data"]) for v in eligible)

    # anyone (no token) can download the list and have the draw recomputed: entries,
    # never the ids (issue #19); the stream's staff get the ids too
    listed = (await client.get(f"{url}/eligible")).json()
    assert listed["viewer_ids"] is None and listed["entries"] == entries
    assert not any(v in str(listed) for v in eligible)
    staff_listed = (await client.get(f"{url}/eligible", headers=room.ctl)).json()
    assert staff_listed["viewer_ids"] == eligible and staff_listed["entries"] == entries
    check = (await client.get(f"{url}/verify")).json()
    assert check["valid"] is True and all(check["checks"].values())
    assert check["recomputed_winner_entries"] == entries[:2]
    assert not any(v in str(check) for v in eligible)
    staff_check = (await client.get(f"{url}/verify", headers=room.ctl)).json()
    assert staff_check["recomputed_winners"] == drawn["winners"]
    check_draw = documented_checker()
    assert check_draw(check, listed) is True
    assert check_draw(check, listed, my_id="v3") is True
    assert check_draw(check, listed, my_id="v6") is False  # not eligible
    assert check_draw(check, {**listed, "entries": listed["entries"][:-1]}) is False
    # a viewer checks their own entry with their token
    for vid in ("v1", drawn["winners"][0], "v9"):
        token, _ = create_token(
            "test-secret-key-0123456789abcdef",
            vid,
            "viewer",
            timedelta(minutes=5),
            stream_id=room.stream_id,
        )
        mine = (await client.get(f"{url}/me", headers=bearer(token))).json()
        assert mine["entry"] == entry_of(drawn["seed"], vid)
        assert mine["eligible"] is (vid in eligible)
        assert mine["won"] is (vid in drawn["winners"])
    log = (await client.get(f"/api/v1/streams/{room.stream_id}/actions", headers=room.ctl)).json()
    assert [a["action"] for a in log] == ["lottery_draw", "lottery"]

    # a tampered result no longer verifies
    async with sessionmaker() as s:
        await s.execute(update(Lottery).where(Lottery.id == lottery["id"]).values(winners=["v6"]))
        await s.commit()
    check = (await client.get(f"{url}/verify")).json()
    assert check["valid"] is False and check["checks"]["winners_match"] is False


async def test_follow_and_present_conditions_read_the_event_log(
    client: httpx.AsyncClient, room: Room, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    t = [NOW - timedelta(minutes=10) + timedelta(seconds=i) for i in range(10)]
    await log_events(
        sessionmaker,
        room.stream_id,
        [
            ("viewer_join", "a", t[0], None),
            ("viewer_join", "b", t[1], None),
            ("viewer_leave", "b", t[2], None),
            ("viewer_join", "c", t[3], None),
            ("viewer_leave", "c", t[4], None),
            ("viewer_join", "c", t[5], None),
            ("viewer_leave", "d", t[6], None),
            ("follow", "b", t[7], None),
            ("follow", "e", t[8], None),
            ("comment", "f", t[9], "关注了"),
        ],
    )
    r = await create(
        client, room, prize="红包", winners_count=10, condition="present", duration_seconds=60
    )
    present = r.json()
    r = await create(
        client, room, prize="小样", winners_count=1, condition="follow", duration_seconds=60
    )
    follow = r.json()
    base = f"/api/v1/streams/{room.stream_id}/lotteries"
    drawn = (await client.post(f"{base}/{present['id']}/draw", headers=room.ctl)).json()
    assert drawn["eligible_count"] == 2 and sorted(drawn["winners"]) == ["a", "c"]
    drawn = (await client.post(f"{base}/{follow['id']}/draw", headers=room.ctl)).json()
    assert drawn["eligible_count"] == 2
    assert drawn["winners"] == reference_winners(drawn["seed"], ["b", "e"], 1)
    listed = (await client.get(base, headers=room.host)).json()
    assert [x["id"] for x in listed] == [follow["id"], present["id"]]


async def test_bad_lotteries_are_refused_and_nothing_is_created(
    client: httpx.AsyncClient, room: Room, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    good = {"prize": "杯子", "winners_count": 1, "condition": "follow", "duration_seconds": 60}
    for condition in ("purchase", "order", "下单"):
        r = await create(client, room, **{**good, "condition": condition})
        assert r.status_code == 422
        assert "purchase" in r.json()["detail"][0]["msg"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for bad in (
        {**good, "condition": "comment"},  # no keyword
        {**good, "keyword": "想要"},  # keyword without its condition
        {**good, "draw_at": (NOW + timedelta(minutes=5)).isoformat()},  # both times
        {k: v for k, v in good.items() if k != "duration_seconds"},  # no time
        {**good, "duration_seconds": None, "draw_at": past},
        {**good, "duration_seconds": None, "draw_at": "2030-01-01T00:00:00"},  # no zone
        {**good, "winners_count": 0},
        {**good, "prize": ""},
        {**good, "condition": "lucky"},
        {**good, "extra": True},
    ):
        r = await create(client, room, **bad)
        assert r.status_code == 422, (bad, r.text)
    await set_status(sessionmaker, room.stream_id, StreamStatus.scheduled)
    r = await create(client, room, **good)
    assert r.status_code == 409 and r.json()["code"] == "stream_not_live"
    assert (
        await client.get(f"/api/v1/streams/{room.stream_id}/lotteries", headers=room.ctl)
    ).json() == []


async def test_roles_host_cannot_draw_and_other_team_cannot_touch(
    client: httpx.AsyncClient, room: Room, crew: Crew
) -> None:
    body = {"prize": "杯子", "winners_count": 1, "condition": "present", "duration_seconds": 60}
    base = f"/api/v1/streams/{room.stream_id}/lotteries"
    other_ctl = await crew.user("ctl_x", "controller")
    await make_stream(client, other_ctl, "别的场")
    for headers in (room.host, room.svc, room.analyst, other_ctl):
        assert (await client.post(base, json=body, headers=headers)).status_code == 403
    lottery = (await client.post(base, json=body, headers=room.ctl)).json()
    for headers in (room.host, room.svc, other_ctl):
        r = await client.post(f"{base}/{lottery['id']}/draw", headers=headers)
        assert r.status_code == 403
        r = await client.post(f"{base}/{lottery['id']}/cancel", headers=headers)
        assert r.status_code == 403
    assert (await client.get(f"{base}/{lottery['id']}", headers=other_ctl)).status_code == 403
    assert (await client.get(f"{base}/{lottery['id']}", headers=room.host)).json()[
        "status"
    ] == "open"
    # cancelled: cannot be drawn or cancelled again
    r = await client.post(f"{base}/{lottery['id']}/cancel", headers=room.ctl)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await client.post(f"{base}/{lottery['id']}/draw", headers=room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "lottery_cancelled"
    r = await client.post(f"{base}/{lottery['id']}/cancel", headers=room.ctl)
    assert r.status_code == 409
    assert (await client.get(f"{base}/999999", headers=room.ctl)).status_code == 404


@pytest.fixture
async def live_stream(
    committed_app: FastAPI, committed_client: httpx.AsyncClient
) -> tuple[int, dict[str, str]]:
    admin = bearer(await login(committed_client, "admin"))
    sid = await make_stream(committed_client, admin, f"lottery-{uuid.uuid4().hex[:6]}")
    await set_status(committed_app.state.sessionmaker, sid, StreamStatus.live)
    return sid, admin


async def test_racing_draws_on_two_instances_draw_once(
    committed_app: FastAPI,
    committed_client: httpx.AsyncClient,
    live_stream: tuple[int, dict[str, str]],
) -> None:
    sid, admin = live_stream
    maker = committed_app.state.sessionmaker
    live = committed_app.state.live
    base = f"/api/v1/streams/{sid}/lotteries"
    body = {"prize": "杯子", "winners_count": 3, "condition": "follow", "duration_seconds": 600}
    lottery = (await committed_client.post(base, json=body, headers=admin)).json()
    follows = [("follow", f"f{i}", NOW - timedelta(minutes=1), None) for i in range(40)]
    await log_events(maker, sid, follows)
    async with maker() as s:  # due now, so the schedulers race the controller too
        past = datetime.now(UTC) - timedelta(seconds=1)
        await s.execute(update(Lottery).where(Lottery.id == lottery["id"]).values(draw_at=past))
        await s.commit()
    log = EventLog()
    await live.broker.subscribe(live.events_channel(sid), log.handler)
    try:
        results = await asyncio.gather(
            *(
                committed_client.post(f"{base}/{lottery['id']}/draw", headers=admin)
                for _ in range(6)
            ),
            draw_due(maker, live),
            draw_due(maker, live),
        )
        await log.wait_for("lottery.drawn")
        await log.settle(0.3)
    finally:
        await live.broker.unsubscribe(live.events_channel(sid), log.handler)
    responses = [r for r in results if isinstance(r, httpx.Response)]
    answers = [r.json() for r in responses]
    assert len(responses) == 6 and all(r.status_code == 200 for r in responses)
    assert len({tuple(a["winners"]) for a in answers}) == 1 and len(answers[0]["winners"]) == 3
    assert len(log.of("lottery.drawn")) == 2  # once for the staff, once for viewers
    async with maker() as s:
        entrants = await s.scalar(
            text("SELECT count(*) FROM lottery_entrants WHERE lottery_id = :i"),
            {"i": lottery["id"]},
        )
    assert entrants == 40
    check = (await committed_client.get(f"{base}/{lottery['id']}/verify")).json()
    assert check["valid"] is True


async def test_the_scheduler_draws_when_due(
    committed_app: FastAPI,
    committed_client: httpx.AsyncClient,
    live_stream: tuple[int, dict[str, str]],
) -> None:
    sid, admin = live_stream
    base = f"/api/v1/streams/{sid}/lotteries"
    body = {"prize": "杯子", "winners_count": 1, "condition": "present", "duration_seconds": 600}
    lottery = (await committed_client.post(base, json=body, headers=admin)).json()
    async with committed_app.state.sessionmaker() as s:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await s.execute(update(Lottery).where(Lottery.id == lottery["id"]).values(draw_at=past))
        await s.commit()
    async with asyncio.timeout(5):
        while True:
            got = (await committed_client.get(f"{base}/{lottery['id']}", headers=admin)).json()
            if got["status"] == "drawn":
                break
            await asyncio.sleep(0.1)
    assert got["eligible_count"] == 0 and got["winners"] == [] and got["seed"] is not None


def test_webhooks_get_the_staff_announcement_of_a_draw_once() -> None:
    from app.realtime.outbox import PendingEvent
    from app.services.lottery import STAFF_ROLES, VIEWER_ROLES
    from app.services.webhooks import deliverable

    staff = PendingEvent(1, "lottery.drawn", {"winners": ["13812345678"]}, STAFF_ROLES)
    public = PendingEvent(1, "lottery.drawn", {"winners": ["13*******78"]}, VIEWER_ROLES)
    assert deliverable(staff) is True and deliverable(public) is False
