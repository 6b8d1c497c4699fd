"""Order requests as their own queue item type, decided from the service queue."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.models import LineupItem
from tests.controls.conftest import Room
from tests.orders.helpers import viewer_headers


async def test_cancel_and_address_requests_on_the_board_and_approved_from_it(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    sid, pid = room.stream_id, room.product_ids[0]
    r = await client.post(f"/api/v1/streams/{sid}/lineup/{pid}/list", headers=room.ctl)
    assert r.status_code == 200, r.text
    orders = f"/api/v1/streams/{sid}/orders"
    buyer = viewer_headers(app, sid, "v1", "k1")
    r = await client.post(orders, json={"product_id": pid, "quantity": 3}, headers=buyer)
    assert r.status_code == 201, r.text
    order = r.json()
    me = viewer_headers(app, sid, "v1")
    assert (await client.post(f"{orders}/{order['id']}/pay", headers=me)).status_code == 200
    r = await client.post(f"{orders}/{order['id']}/cancel", json={"reason": "买错了"}, headers=me)
    assert r.json()["request"]["status"] == "pending"
    addr = {"name": "王五", "phone": "13700000000", "line": "天河 3 号"}
    r = await client.post(f"{orders}/{order['id']}/address", json={"address": addr}, headers=me)
    assert r.status_code == 202

    board = (await client.get(f"/api/v1/streams/{sid}/queue/board", headers=room.svc)).json()
    assert board["items"] == []
    kinds = {q["kind"]: q for q in board["order_requests"]}
    assert set(kinds) == {"cancel", "address_change"}
    assert kinds["cancel"]["type"] == "order_request" and kinds["cancel"]["reason"] == "买错了"
    assert kinds["cancel"]["amount"] == "179.70" and kinds["cancel"]["quantity"] == 3
    # the host has no business on the board
    assert (
        await client.get(f"/api/v1/streams/{sid}/queue/board", headers=room.host)
    ).status_code == 403

    decide = f"/api/v1/streams/{sid}/queue/order-requests"
    r = await client.post(f"{decide}/{kinds['address_change']['id']}/approve", headers=room.svc)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await client.post(
        f"{decide}/{kinds['cancel']['id']}/approve", json={"note": "已退款"}, headers=room.svc
    )
    assert r.status_code == 200, r.text
    again = await client.post(f"{decide}/{kinds['cancel']['id']}/reject", headers=room.svc)
    assert again.status_code == 409

    got = (await client.get(f"{orders}/{order['id']}", headers=me)).json()
    assert got["status"] == "refunded" and got["address"]["name"] == "王五"
    async with app.state.sessionmaker() as s:
        sold = await s.scalar(
            select(LineupItem.sold_units).where(
                LineupItem.stream_id == sid, LineupItem.product_id == pid
            )
        )
    assert sold == 0  # the stock is back
    board = (await client.get(f"/api/v1/streams/{sid}/queue/board", headers=room.svc)).json()
    assert board["order_requests"] == []
