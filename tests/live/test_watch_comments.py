"""A comment typed on the watch page counts exactly like an ingested `comment` event:
live `comments` counter, durable log, per-minute rollups, de-duplicated per viewer."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import StreamEvent, StreamMinute, StreamStatus
from app.realtime.counters import CounterState
from app.services.eventlog import log_totals
from tests.live.helpers import live_of, live_stream, send, set_status
from tests.orders.helpers import viewer_headers


def _comparable(state: CounterState) -> dict[str, Any]:
    return {
        "totals": state.totals,
        "products": {pid: p for pid, p in state.products.items() if any(p.values())},
        "viewers": state.viewers,
        "online": state.online,
    }


async def _watch_comment(
    app: FastAPI, client: httpx.AsyncClient, stream_id: int, viewer: str, body: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/streams/{stream_id}/comments",
        json=body,
        headers=viewer_headers(app, stream_id, viewer),
    )
    assert r.status_code == 202, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_watch_page_comments_move_the_live_counter_log_and_rollups(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    stream_id, key, headers = await live_stream(any_app, any_client)
    metrics_url = f"/api/v1/streams/{stream_id}/metrics"
    assert (await any_client.get(metrics_url, headers=headers)).json()["comments"] == 0

    # Two viewers use the same event_id: scoped by viewer, both count.
    first = await _watch_comment(
        any_app, any_client, stream_id, "v_alice", {"text": "有S码吗", "event_id": "c1"}
    )
    second = await _watch_comment(
        any_app, any_client, stream_id, "v_bob", {"text": "主播好", "event_id": "c1"}
    )
    assert first == second == {"accepted": 1, "duplicates": 0}
    # A retry of alice's send counts once; a comment without event_id always counts.
    again = await _watch_comment(
        any_app, any_client, stream_id, "v_alice", {"text": "有S码吗", "event_id": "c1"}
    )
    assert again == {"accepted": 0, "duplicates": 1}
    await _watch_comment(any_app, any_client, stream_id, "v_carol", {"text": "买了"})
    # A moderated-away comment is still a comment event, as for ingest.
    await _watch_comment(any_app, any_client, stream_id, "v_dave", {"text": "加我vx 领红包"})

    metrics = (await any_client.get(metrics_url, headers=headers)).json()
    assert metrics["comments"] == 4
    assert metrics["viewers"] == 4

    # The same as an ingested comment: one more of those moves it to 5.
    r = await send(
        any_client,
        stream_id,
        key,
        [{"type": "comment", "user_id": "u1", "event_id": "c1", "text": "好看"}],
    )
    assert r.status_code == 202, r.text
    assert (await any_client.get(metrics_url, headers=headers)).json()["comments"] == 5
    minutes = (await any_client.get(f"{metrics_url}/minutes", headers=headers)).json()
    assert sum(m["comments"] for m in minutes) == 5

    await set_status(any_app, stream_id, StreamStatus.ended)
    async with any_app.state.sessionmaker() as session:
        logged_comments = await session.scalar(
            select(func.count()).where(
                StreamEvent.stream_id == stream_id, StreamEvent.type == "comment"
            )
        )
        rollup_comments = await session.scalar(
            select(func.sum(StreamMinute.comments)).where(StreamMinute.stream_id == stream_id)
        )
        scoped = set(
            (
                await session.scalars(
                    select(StreamEvent.event_id).where(
                        StreamEvent.stream_id == stream_id, StreamEvent.viewer_id != "u1"
                    )
                )
            ).all()
        )
        logged = await log_totals(session, stream_id)
    assert logged_comments == rollup_comments == 5
    assert {"watch:v_alice:c1", "watch:v_bob:c1"} <= scoped
    # counters agree with the log
    counted = await live_of(any_app).counters.read(stream_id)
    assert _comparable(counted) == _comparable(logged)
