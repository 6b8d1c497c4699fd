"""Stock alerts follow the orders, not the consoles (app/services/stock_alerts.py): a
product that sells out while no console has the stream open raises its 售罄 alert at
once (and its webhook event), and a cancellation that puts units back resolves it."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from app.models import Alert, LineupItem
from app.services.stock_alerts import StockAlertWorker
from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing


async def _alerts(env: Env, stream_id: int) -> dict[str, bool]:
    """kind → open? of the stream's stock alerts."""
    async with env.maker() as s:
        rows = (await s.scalars(select(Alert).where(Alert.stream_id == stream_id))).all()
    return {a.kind: a.resolved_at is None for a in rows}


async def _until(env: Env, stream_id: int, want: dict[str, bool]) -> None:
    async with asyncio.timeout(10):
        while await _alerts(env, stream_id) != want:  # noqa: ASYNC110 - rows, no event
            await asyncio.sleep(0.05)


async def test_a_sell_out_raises_its_alert_with_no_console_open(committed_env: Env) -> None:
    env = committed_env
    listing = await seed_listing(env.maker, stock=3)
    hub = env.app.state.live.hub
    assert listing.stream_id not in hub._channels  # nobody has the stream open: no ticker
    orders = []
    for i in range(3):
        r = await env.order(listing, f"v{i}", f"k{i}")
        assert r.status_code == 201, r.text
        orders.append(r.json())
    # sold out (and low before that), raised without anybody looking
    await _until(env, listing.stream_id, {"stock_low": True, "sold_out": True})
    assert listing.stream_id not in hub._channels
    # an unpaid order cancelled: a unit is back on sale, the sell-out is over
    r = await env.client.post(
        f"{listing.orders_url}/{orders[0]['id']}/cancel", headers=env.viewer(listing, "v0")
    )
    assert r.status_code == 200, r.text
    await _until(env, listing.stream_id, {"stock_low": True, "sold_out": False})


async def test_instances_evaluating_one_sell_out_at_once_raise_it_once(committed_env: Env) -> None:
    """Every instance has a stock-alert worker (and a console's ticker evaluates too):
    eight of them evaluating the same sold-out product at once open one episode each of
    sold out and stock low, not eight."""
    env = committed_env
    listing = await seed_listing(env.maker, stock=3)
    async with env.maker() as s:  # sold out behind every evaluator's back
        await s.execute(
            update(LineupItem)
            .where(LineupItem.stream_id == listing.stream_id)
            .values(sold_units=LineupItem.allotted_stock)
        )
        await s.commit()
    live = env.app.state.live
    racers = [StockAlertWorker(env.maker, live) for _ in range(8)]
    await asyncio.gather(*(w.evaluate(listing.stream_id, {listing.product_id}) for w in racers))
    async with env.maker() as s:
        rows = (await s.scalars(select(Alert).where(Alert.stream_id == listing.stream_id))).all()
    assert sorted((a.kind, a.resolved_at is None) for a in rows) == [
        ("sold_out", True),
        ("stock_low", True),
    ]
