"""The flash-sale fast path (app/routers/order_fast_path.py) on PostgreSQL + Redis.

It may only ever answer what the full order path would answer (409 sold_out), and must
hand everything else to the endpoint unchanged. Each test checks the answer AND whether
the fast path gave it (its Prometheus counter), so a fast path that silently stopped
working, or one that answered too much, both fail.
"""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY

from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing


def _fast() -> float:
    return REGISTRY.get_sample_value("lcr_order_fast_refusals_total") or 0.0


async def _sold_out_listing(env: Env, stock: int = 2) -> tuple[Any, dict[str, str]]:
    listing = await seed_listing(env.maker, stock=stock)
    placed = {}
    for i in range(stock):
        r = await env.order(listing, f"early-{i}", f"early-key-{i}")
        assert r.status_code == 201, r.text
        placed[f"early-key-{i}"] = r.json()["id"]
    return listing, placed


async def test_a_sold_out_order_is_refused_by_the_fast_path_with_the_full_paths_answer(
    app: Any, client: httpx.AsyncClient
) -> None:
    env = Env(app, client, app.state.sessionmaker)
    listing, _ = await _sold_out_listing(env)
    # The first refusal may build nothing: the mirror exists after the two orders.
    before = _fast()
    r = await env.order(listing, "late", "late-key")
    assert r.status_code == 409
    assert r.json() == {"detail": "sold out", "code": "sold_out"}
    assert _fast() == before + 1
    assert r.headers["content-type"] == "application/json"
    assert r.headers.get("x-request-id")  # still logged and counted like any request


async def test_everything_else_goes_to_the_full_path(app: Any, client: httpx.AsyncClient) -> None:
    env = Env(app, client, app.state.sessionmaker)
    listing, placed = await _sold_out_listing(env)
    before = _fast()

    # A retry of a placed order's key after the sell-out still gets its order back.
    key, order_id = next(iter(placed.items()))
    r = await env.order(listing, "early-0", key)
    assert r.status_code == 201 and r.json()["id"] == order_id
    assert r.headers.get("idempotent-replayed") == "true"
    # Bad input keeps its own answers (the endpoint's validation and auth).
    body = {"product_id": listing.product_id, "quantity": 1}
    url = listing.orders_url
    viewer = env.viewer(listing, "late", "k2")
    assert (await client.post(url, json={**body, "quantity": 0}, headers=viewer)).status_code == 422
    assert (await client.post(url, json={**body, "extra": 1}, headers=viewer)).status_code == 422
    no_key = {"Authorization": viewer["Authorization"]}
    assert (await client.post(url, json=body, headers=no_key)).status_code == 422
    bad_token = {"Authorization": "Bearer nope", "Idempotency-Key": "k3"}
    assert (await client.post(url, json=body, headers=bad_token)).status_code == 401
    staff = bearer(await login(client, "admin"))
    r = await client.post(url, json=body, headers={**staff, "Idempotency-Key": "k4"})
    assert r.status_code == 403
    other = await seed_listing(env.maker, stock=2)
    wrong_stream = env.viewer(other, "late", "k5")
    assert (await client.post(url, json=body, headers=wrong_stream)).status_code == 403
    # A product that still has stock is sold by the full path.
    r = await env.order(other, "buyer", "k6")
    assert r.status_code == 201, r.text
    assert _fast() == before  # none of these was answered by the fast path


async def test_an_order_in_a_flash_sale_that_is_over_is_refused_fast(
    app: Any, client: httpx.AsyncClient
) -> None:
    env = Env(app, client, app.state.sessionmaker)
    admin = bearer(await login(client, "admin"))
    listing = await seed_listing(env.maker, stock=10)
    url = f"/api/v1/streams/{listing.stream_id}/flash-sales"
    sale = {"product_id": listing.product_id, "price": "9.90", "quantity": 1}
    r = await client.post(
        url, json={**sale, "per_user_limit": 1, "duration_seconds": 60}, headers=admin
    )
    assert r.status_code == 201, r.text
    flash_id = r.json()["id"]
    assert (await env.order(listing, "first", "fk-1", flash_sale_id=flash_id)).status_code == 201
    before = _fast()
    # Its one unit is gone: the flash sale ended (sold out), so asking for it is refused.
    r = await env.order(listing, "second", "fk-2", flash_sale_id=flash_id)
    assert r.status_code == 409 and r.json()["code"] == "sold_out", r.text
    assert _fast() == before + 1
