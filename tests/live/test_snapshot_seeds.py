"""The snapshot parts the staff consoles seed their REST queries with (issue 15: a console
that gets a fresh snapshot does not refetch every list it just got) are exactly what those
queries' endpoints answer, over a real uvicorn server on both backends."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.live.helpers import add_product, first_snapshot, live_stream, send, team_member

# Each seeded part (its path in the snapshot) and the request of the query it seeds
# (frontend/src/live/streamData.ts SEEDS), by the role whose console is seeded.
SEEDS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "controller": [
        (("lineup",), "/lineup"),
        (("segment",), "/segments/current"),
        (("cues",), "/cues?open=true"),
        (("alerts",), "/alerts?open=true"),
        (("lotteries",), "/lotteries"),
        (("metrics",), "/metrics"),
        (("queue", "items"), "/queue"),
        (("queue", "settings"), "/queue-settings"),
        (("incidents",), "/incidents?open=true"),  # not seeded (the log lists all), same shape
    ],
    "host": [
        (("lineup",), "/lineup"),
        (("segment",), "/segments/current"),
        (("cues",), "/cues?open=true"),
        (("alerts",), "/alerts?open=true"),  # the teleprompter's alerts: every kind
        (("lotteries",), "/lotteries"),
    ],
    "service": [
        (("lineup",), "/lineup"),
        (("cues",), "/cues?open=true"),
        (("lotteries",), "/lotteries"),
        (("queue", "items"), "/queue"),
        (("queue", "settings"), "/queue-settings"),
    ],
}
# A queue item's clock, read a moment apart by the snapshot and the request.
CLOCK = {"waiting_seconds", "sla_seconds_left", "score", "overdue"}


def _steady(value: Any) -> Any:
    if isinstance(value, list):
        return [_steady(v) for v in value]
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in CLOCK}
    return value


async def test_seeded_snapshot_parts_are_what_the_rest_queries_answer(
    served: tuple[FastAPI, str],
) -> None:
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        sid, key, admin = await live_stream(app, client)
        tag = f"{sid}_{id(app) % 10_000}"
        tokens = {
            role: await team_member(client, admin, sid, f"seed_{role}_{tag}", role)
            for role in SEEDS
        }
        ctl = {"Authorization": f"Bearer {tokens['controller']}"}
        base = f"/api/v1/streams/{sid}"
        pid = await add_product(app, sid, f"SEED-{tag}", allotted=50)
        # Something in every list: an open cue, an open incident (and a resolved one), a
        # stock alert, a lottery, questions in the queue, the queue settings changed.
        assert (await client.post(f"{base}/cues", json={"text": "讲尺码"}, headers=ctl)).is_success
        for note in ("卡顿", "已恢复"):
            r = await client.post(
                f"{base}/incidents", json={"type": "technical", "note": note}, headers=ctl
            )
            assert r.status_code == 201, r.text
        r = await client.post(f"{base}/incidents/{r.json()['id']}/resolve", json={}, headers=ctl)
        assert r.status_code == 200, r.text
        r = await client.post(
            f"{base}/lineup/{pid}/stock", json={"allotted_stock": 3, "reason": "x"}, headers=ctl
        )
        assert r.status_code == 200, r.text
        body = {"prize": "杯子", "winners_count": 1, "condition": "follow", "duration_seconds": 60}
        assert (await client.post(f"{base}/lotteries", json=body, headers=ctl)).status_code == 201
        asks = ["尺码怎么选", "请问尺码怎么选", "什么时候发货"]
        events = [
            {"type": "comment", "user_id": f"v{i}", "text": t, "event_id": f"seed-{tag}-{i}"}
            for i, t in enumerate(asks)
        ]
        assert (await send(client, sid, key, events)).status_code == 202
        r = await client.put(f"{base}/queue-settings", json={"cue_threshold": 50}, headers=ctl)
        assert r.status_code == 200, r.text

        for role, seeds in SEEDS.items():
            snap = await first_snapshot(f"ws://{addr}/ws/streams/{sid}?token={tokens[role]}")
            assert snap["resumed"] is False
            auth = {"Authorization": f"Bearer {tokens[role]}"}
            for path, url in seeds:
                part: Any = snap
                for step in path:
                    part = part[step]
                r = await client.get(base + url, headers=auth)
                assert r.status_code == 200, (role, url, r.text)
                assert part, (role, path)  # a comparison of empty lists proves nothing
                assert _steady(part) == _steady(r.json()), (role, path, url)
            if "queue" in snap:
                assert snap["queue"]["truncated"] is False
