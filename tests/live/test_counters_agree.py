"""Counters agree with the log: live totals == totals recomputed from persisted events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.models import StreamStatus
from app.realtime.counters import CounterState
from app.realtime.memory import MemoryCounters
from app.services.eventlog import log_totals, rebuild_counters
from tests.live.helpers import add_product, live_of, live_stream, send, set_status


def _random_events(rng: random.Random, pids: list[int], n: int) -> list[dict[str, Any]]:
    base = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    kinds = [
        "viewer_join",
        "viewer_join",
        "viewer_leave",
        "comment",
        "like",
        "like",
        "share",
        "follow",
        "product_click",
        "add_to_cart",
        "order_created",
        "order_paid",
        "order_cancelled",
        "order_refunded",
    ]
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = rng.choice(kinds)
        # out of order: timestamps jump back and forth over 30 minutes
        ev: dict[str, Any] = {
            "type": kind,
            "user_id": f"u{rng.randrange(40)}",
            "ts": (base + timedelta(seconds=rng.randrange(1800))).isoformat(),
        }
        if rng.random() < 0.8:
            ev["event_id"] = f"e{i}"
        if kind in ("product_click", "add_to_cart") or kind.startswith("order_"):
            ev["product_id"] = rng.choice(pids)
        if kind.startswith("order_"):
            ev["quantity"] = rng.randint(1, 3)
        if kind in ("order_paid", "order_refunded"):
            ev["amount"] = f"{rng.randint(100, 99999) / 100:.2f}"
        if kind == "comment":
            ev["text"] = rng.choice(["有S码吗", "买了", "主播好美", "加我vx"])
        if kind == "viewer_join" and rng.random() < 0.5:
            ev["source"] = rng.choice(["feed", "ads", "search"])
        out.append(ev)
    # duplicates: resend a fifth of the events with ids, scattered through the stream
    dupes = [e for e in out if "event_id" in e and rng.random() < 0.2]
    for e in dupes:
        out.insert(rng.randrange(len(out)), dict(e))
    return out


def _comparable(state: CounterState) -> dict[str, Any]:
    return {
        "totals": state.totals,
        "products": {pid: p for pid, p in state.products.items() if any(p.values())},
        "viewers": state.viewers,
        "online": state.online,
    }


async def test_live_totals_equal_totals_recomputed_from_the_log(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    rng = random.Random(4)
    stream_id, key, _ = await live_stream(any_app, any_client)
    pids = [await add_product(any_app, stream_id, f"AG-{stream_id}-{i}", 50) for i in range(3)]
    events = _random_events(rng, pids, 1500)
    i = 0
    while i < len(events):  # batches of varied sizes
        size = rng.randint(1, 300)
        r = await send(any_client, stream_id, key, events[i : i + size])
        assert r.status_code == 202, r.text
        i += size
    await set_status(any_app, stream_id, StreamStatus.ended)

    live = live_of(any_app)
    counted = await live.counters.read(stream_id)
    async with any_app.state.sessionmaker() as session:
        logged = await log_totals(session, stream_id)
        assert _comparable(counted) == _comparable(logged)
        assert counted.totals["likes"] > 0 and counted.totals["gmv"] > 0
        # and a fresh recount from the log gives the same numbers again
        fresh = MemoryCounters()
        await rebuild_counters(fresh, session, stream_id)
    assert _comparable(await fresh.read(stream_id)) == _comparable(counted)
