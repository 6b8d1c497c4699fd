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


async def test_peek_never_refuses_what_take_would_accept(app: Any) -> None:
    """PEEK repeats TAKE's first checks read-only; if the two ever drift apart, the fast
    path would refuse orders the full path accepts. Compare them over every combination
    of mirror state that decides between sold out, flash over and going on."""
    import itertools
    import time

    from tests.orders.helpers import redis_book

    rs = redis_book(app)
    assert rs is not None
    redis = rs.redis
    now_ms = int(time.time() * 1000)
    cases = itertools.product(
        (0, 1, 5),  # stock left
        ("1", "0"),  # listed
        (None, "running", "ended"),  # flash sale on the mirror
        (0, 1),  # flash units left
        (None, 7, 8),  # flash_sale_id asked for (7 is the mirror's)
        (1, 2),  # quantity
        (False, True),  # idempotency key already known
    )
    compared = {"sold_out": 0, "flash_over": 0, "go": 0}
    for n, (stock, listed, flash, f_left, asked, qty, known) in enumerate(cases):
        stream_id, product_id = 990_000 + n, 1
        keys = rs.keys(stream_id, product_id)
        fields: dict[str, Any] = {"stock": stock, "listed": listed, "limit": 0, "allotted": 9}
        if flash is not None:
            ends = now_ms + 60_000 if flash == "running" else now_ms - 1
            fields |= {"f_id": "7", "f_left": f_left, "f_limit": 0, "f_ends": ends}
        await redis.hset(keys[0], mapping=fields)
        if known:
            await redis.hset(keys[2], "key", "o|1|x")
        try:
            peek = await rs.peek(stream_id, product_id, "key", qty, asked)
            take = await rs.take(stream_id, product_id, "key", "v", qty, "p|t|f|1", asked)
            state = (stock, listed, flash, f_left, asked, qty, known)
            compared[peek] += 1
            if peek == "go":
                continue
            expected = "sold_out" if peek == "sold_out" else "flash_over"
            assert take.outcome == expected, (state, peek, take)
        finally:
            await redis.delete(*keys)
    assert min(compared.values()) >= 10, compared  # every kind of answer was compared


async def test_the_fast_answer_carries_the_request_id_and_metrics_of_the_full_path(
    app: Any, client: httpx.AsyncClient
) -> None:
    """The fast path runs before RequestContextMiddleware, so it does that middleware's
    work for its own answers: echo X-Request-ID (or make one), count the route's 409."""
    env = Env(app, client, app.state.sessionmaker)
    listing, _ = await _sold_out_listing(env)
    route = "/api/v1/streams/{stream_id}/orders"
    labels = {"method": "POST", "route": route, "status": "409"}

    def counted() -> float:
        return REGISTRY.get_sample_value("controlroom_http_requests_total", labels) or 0.0

    before, fast = counted(), _fast()
    body = {"product_id": listing.product_id, "quantity": 1}
    headers = {**env.viewer(listing, "late", "rid-key"), "X-Request-ID": "trace-123"}
    r = await client.post(listing.orders_url, json=body, headers=headers)
    assert r.status_code == 409 and r.json() == {"detail": "sold out", "code": "sold_out"}
    assert r.headers["x-request-id"] == "trace-123"
    assert r.headers["content-length"] == str(len(r.content))
    assert _fast() == fast + 1 and counted() == before + 1
    r = await env.order(listing, "later", "rid-key-2")
    assert r.status_code == 409 and len(r.headers["x-request-id"]) == 32  # made up
    # The full path's own refusal (here: a coupon, which the fast path never answers)
    # carries the same kind of header from RequestContextMiddleware.
    r = await client.post(
        listing.orders_url,
        json={**body, "coupon_id": 1},
        headers={**env.viewer(listing, "late", "rid-key-3"), "X-Request-ID": "trace-456"},
    )
    assert r.status_code in (404, 409, 422) and r.headers["x-request-id"] == "trace-456"
    assert _fast() == fast + 2


async def test_concurrent_peeks_share_a_call_and_each_gets_its_own_answer(app: Any) -> None:
    """Peeks of several streams and products, sold out or not, known keys, a broken
    mirror (wrong type) — all at once: every answer equals the answer of a lone peek."""
    import asyncio
    import time

    from tests.orders.helpers import redis_book

    rs = redis_book(app)
    assert rs is not None
    redis = rs.redis
    now_ms = int(time.time() * 1000)
    mirrors: dict[tuple[int, int], dict[str, Any] | None] = {
        (980_001, 1): {"stock": 0, "listed": "1", "limit": 0, "allotted": 9},
        (980_001, 2): {"stock": 5, "listed": "1", "limit": 0, "allotted": 9},
        (980_001, 3): {"stock": 5, "listed": "1", "f_id": "7", "f_left": 0, "f_ends": now_ms + 9e4},
        (980_002, 1): {"stock": 0, "listed": "0", "limit": 0, "allotted": 9},
        (980_002, 2): None,  # a key of the wrong type: that order goes to the full path
        (980_003, 1): {"stock": 1, "listed": "1", "f_id": "7", "f_left": 1, "f_ends": now_ms - 1},
    }
    for (stream_id, product_id), fields in mirrors.items():
        key = rs.keys(stream_id, product_id)[0]
        if fields is None:
            await redis.set(key, "oops")
        else:
            await redis.hset(key, mapping=fields)
    await redis.hset(rs.keys(980_001, 1)[2], "known", "o|1|x")
    asks = [
        (s, p, key, qty, flash)
        for (s, p) in mirrors
        for key in ("known", "fresh")
        for qty in (1, 2)
        for flash in (None, 7, 8)
    ]
    try:
        alone = [await rs.peek(*ask) for ask in asks]
        calls = 0
        script = rs._peek

        async def counting(**kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return await script(**kwargs)

        rs._peek = counting
        together = await asyncio.gather(*(rs.peek(*ask) for ask in asks))
        assert list(together) == alone
        assert calls <= 2 * len({s for s, *_ in asks})  # batched per stream, not per order
        assert {"go", "sold_out", "flash_over"} <= set(alone)
        # the broken mirror answers 'go' (the full path decides), its neighbours do not
        broken = [a for ask, a in zip(asks, alone, strict=True) if ask[:2] == (980_002, 2)]
        assert set(broken) == {"go"}
    finally:
        rs._peek = script
        for stream_id, product_id in mirrors:
            await redis.delete(*rs.keys(stream_id, product_id))


async def test_a_redis_error_sends_the_order_to_the_full_path(
    app: Any, client: httpx.AsyncClient
) -> None:
    from tests.orders.helpers import redis_book

    env = Env(app, client, app.state.sessionmaker)
    listing, _ = await _sold_out_listing(env)
    rs = redis_book(app)
    assert rs is not None
    script = rs._peek

    async def failing(**_: Any) -> Any:
        raise ConnectionError("redis is gone")

    rs._peek = failing
    try:
        before = _fast()
        r = await env.order(listing, "late", "err-key")
        assert r.status_code == 409 and r.json()["code"] == "sold_out"  # the full path's
        assert _fast() == before
    finally:
        rs._peek = script
