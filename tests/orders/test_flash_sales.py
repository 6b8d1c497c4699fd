"""Flash sales: launch (roles, bad input), orders at its price and limit, the countdown
events, scheduled start and the end on time (the ticker)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from tests.conftest import Staff, bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing, sold_units


async def _capture(app: FastAPI, stream_id: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def on_event(channel: str, message: bytes) -> None:
        events.append(orjson.loads(message))

    live = app.state.live
    await live.broker.subscribe(live.events_channel(stream_id), on_event)
    return events


def _sale(product_id: int, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product_id": product_id,
        "price": "19.90",
        "quantity": 5,
        "per_user_limit": 2,
        "duration_seconds": 60,
    }
    return {**body, **over}


async def test_flash_sale_orders_take_its_price_limit_and_quantity(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=20, price="59.90")
    url = f"/api/v1/streams/{listing.stream_id}/flash-sales"
    events = await _capture(env.app, listing.stream_id)
    r = await env.client.post(url, json=_sale(listing.product_id), headers=admin)
    assert r.status_code == 201, r.text
    sale = r.json()
    assert sale["status"] == "active" and sale["remaining"] == 5 and sale["price"] == "19.90"
    assert datetime.fromisoformat(sale["ends_at"]) - datetime.fromisoformat(
        sale["starts_at"]
    ) == timedelta(seconds=60)
    # one per product at a time
    r = await env.client.post(url, json=_sale(listing.product_id), headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "flash_sale_exists"

    r = await env.order(listing, "v1", "a", quantity=2)
    assert r.status_code == 201 and r.json()["unit_price"] == "19.90"
    assert r.json()["amount"] == "39.80" and r.json()["flash_sale_id"] == sale["id"]
    r = await env.order(listing, "v1", "b", quantity=1)
    assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"
    assert (await env.order(listing, "v2", "c", quantity=2)).status_code == 201
    r = await env.order(listing, "v3", "d", quantity=2, flash_sale_id=sale["id"])
    assert r.status_code == 409 and r.json()["code"] == "sold_out"  # 1 left, 2 asked
    assert (await env.order(listing, "v3", "e", quantity=1)).status_code == 201
    got = (await env.client.get(f"{url}/{sale['id']}", headers=admin)).json()
    assert got["status"] == "ended" and got["end_reason"] == "sold_out" and got["sold"] == 5
    # after the sale: live price again, and the sale's id is refused
    r = await env.order(listing, "v3", "f", quantity=1)
    assert r.status_code == 201 and r.json()["unit_price"] == "59.90"
    r = await env.order(listing, "v4", "g", quantity=1, flash_sale_id=sale["id"])
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    assert await sold_units(env.maker, listing) == 6

    await asyncio.sleep(0.2)
    kinds = [e["type"] for e in events]
    assert kinds.count("flash_sale.started") == 1 and kinds.count("flash_sale.ended") == 1
    started = next(e for e in events if e["type"] == "flash_sale.started")["data"]
    for field in ("ends_at", "server_time", "quantity", "remaining", "price", "per_user_limit"):
        assert field in started
    ended = next(e for e in events if e["type"] == "flash_sale.ended")["data"]
    assert ended["remaining"] == 0 and ended["end_reason"] == "sold_out"
    assert "stock.changed" in kinds


async def test_flash_sale_roles_and_bad_input(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    staff = Staff(env.client, admin)
    listing = await seed_listing(env.maker, stock=10)
    other = await seed_listing(env.maker, stock=10)
    ctl = await staff.user("ctl", "controller")
    svc = await staff.user("svc", "service")
    await staff.join(listing.stream_id, "ctl", "controller")
    await staff.join(listing.stream_id, "svc", "service")
    url = f"/api/v1/streams/{listing.stream_id}/flash-sales"
    body = _sale(listing.product_id)
    assert (await env.client.post(url, json=body)).status_code == 401
    assert (await env.client.post(url, json=body, headers=svc)).status_code == 403
    viewer = {"Authorization": env.viewer(listing, "v1")["Authorization"]}
    assert (await env.client.post(url, json=body, headers=viewer)).status_code == 401
    other_url = f"/api/v1/streams/{other.stream_id}/flash-sales"
    r = await env.client.post(other_url, json=_sale(other.product_id), headers=ctl)
    assert r.status_code == 403
    for bad in (
        {"price": 9.9},
        {"price": "-1"},
        {"price": "0"},
        {"quantity": 0},
        {"per_user_limit": 0},
        {"duration_seconds": 0},
        {"starts_at": "2026-01-01T10:00:00"},  # no zone
        {"unknown": 1},
    ):
        r = await env.client.post(url, json={**body, **bad}, headers=ctl)
        assert r.status_code == 422, (bad, r.text)
    r = await env.client.post(url, json={**body, "quantity": 11}, headers=ctl)
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock"
    r = await env.client.post(url, json=_sale(other.product_id), headers=ctl)
    assert r.status_code == 404 and r.json()["code"] == "not_in_lineup"
    r = await env.client.post(url, json=body, headers=ctl)
    assert r.status_code == 201
    sale_id = r.json()["id"]
    assert (await env.client.get(url, headers=svc)).status_code == 200
    assert (await env.client.post(f"{url}/{sale_id}/stop", headers=svc)).status_code == 403
    r = await env.client.post(f"{url}/{sale_id}/stop", headers=ctl)
    assert r.status_code == 200 and r.json()["end_reason"] == "stopped"
    r = await env.client.post(f"{url}/{sale_id}/stop", headers=ctl)
    assert r.status_code == 409 and r.json()["code"] == "flash_sale_ended"
    r = await env.order(listing, "v1", "after-stop")
    assert r.status_code == 201 and r.json()["flash_sale_id"] is None


@pytest.mark.slow
async def test_scheduled_sale_starts_and_ends_on_time_once(committed_env: Env) -> None:
    """The ticker (every 0.5 s) starts the sale at starts_at and ends it at ends_at."""
    env = committed_env
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=10, price="59.90")
    events = await _capture(env.app, listing.stream_id)
    starts = datetime.now(UTC) + timedelta(seconds=2)
    url = f"/api/v1/streams/{listing.stream_id}/flash-sales"
    r = await env.client.post(
        url,
        json=_sale(listing.product_id, duration_seconds=6, starts_at=starts.isoformat()),
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["status"] == "scheduled"
    sale_url = f"{url}/{r.json()['id']}"
    r = await env.order(listing, "v1", "early")
    assert r.status_code == 201
    early_in_sale = int(r.json()["flash_sale_id"] is not None)
    if datetime.fromisoformat(r.json()["created_at"]) < starts:  # else the machine stalled
        assert r.json()["unit_price"] == "59.90" and not early_in_sale
    await _wait_for_status(env, sale_url, admin, "active")
    r = await env.order(listing, "v2", "during")
    assert r.status_code == 201 and r.json()["unit_price"] == "19.90"
    sale = await _wait_for_status(env, sale_url, admin, "ended")
    assert datetime.fromisoformat(sale["ended_at"]) >= datetime.fromisoformat(sale["ends_at"])
    r = await env.order(listing, "v3", "after")
    assert r.status_code == 201 and r.json()["unit_price"] == "59.90"
    await asyncio.sleep(0.2)
    kinds = [e["type"] for e in events]
    assert kinds.count("flash_sale.started") == 1 and kinds.count("flash_sale.ended") == 1
    ended = next(e for e in events if e["type"] == "flash_sale.ended")["data"]
    assert ended["end_reason"] == "time" and ended["remaining"] == 4 - early_in_sale


async def _wait_for_status(
    env: Env, url: str, headers: dict[str, str], status: str
) -> dict[str, Any]:
    """Poll (the machine may be busy) until the ticker has moved the sale to `status`."""
    for _ in range(300):
        sale: dict[str, Any] = (await env.client.get(url, headers=headers)).json()
        if sale["status"] == status:
            return sale
        await asyncio.sleep(0.05)
    raise AssertionError(f"flash sale never became {status}")
