"""After-sales: shipments with tracking numbers, returns/exchanges, complaints, order export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Order, OrderStatus
from tests.conftest import Staff
from tests.review.helpers import T0, make_product, make_stream


async def _orders(session: AsyncSession, stream_id: int, product_id: int) -> list[Order]:
    orders = [
        Order(
            stream_id=stream_id,
            product_id=product_id,
            viewer_id=viewer,
            quantity=qty,
            unit_price=Decimal("59.90"),
            discount=Decimal("0"),
            amount=Decimal("59.90") * qty,
            status=status,
            idempotency_key=uuid.uuid4().hex,
            created_at=T0,
            paid_at=T0 if status == OrderStatus.paid else None,
        )
        for viewer, qty, status in (("=cmd", 2, OrderStatus.paid), ("b", 1, OrderStatus.created))
    ]
    session.add_all(orders)
    await session.flush()
    return orders


async def test_shipments_returns_complaints_and_order_export(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    ctl = await staff.user("as_ctl", "controller")
    svc = await staff.user("as_svc", "service")
    host = await staff.user("as_host", "host")
    s = await make_stream(client, session, ctl, "After-sales", T0)
    await staff.join(s.id, "as_svc", "service")
    await staff.join(s.id, "as_host", "host")
    product = await make_product(session, "Scarf", "79.00")
    paid, unpaid = await _orders(session, s.id, product.id)
    await session.commit()
    base = f"/api/v1/streams/{s.id}"

    # shipment + tracking number
    ship = {"carrier": "顺丰", "tracking_number": "SF1234567890"}
    r = await client.put(f"{base}/orders/{paid.id}/shipment", json=ship, headers=svc)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped" and r.json()["shipped_at"]
    r = await client.put(f"{base}/orders/{unpaid.id}/shipment", json=ship, headers=svc)
    assert r.status_code == 409 and r.json()["code"] == "order_not_paid"
    r = await client.put(f"{base}/orders/{paid.id}/shipment", json=ship, headers=host)
    assert r.status_code == 403
    bad = {"carrier": "x", "tracking_number": "no spaces allowed"}
    assert (
        await client.put(f"{base}/orders/{paid.id}/shipment", json=bad, headers=svc)
    ).status_code == 422
    r = await client.put(
        f"{base}/orders/{paid.id}/shipment", json={**ship, "status": "delivered"}, headers=svc
    )
    assert r.json()["status"] == "delivered" and r.json()["delivered_at"]
    got = (await client.get(f"{base}/orders/{paid.id}/shipment", headers=ctl)).json()
    assert got["tracking_number"] == "SF1234567890"
    assert (await client.get(f"{base}/orders/{unpaid.id}/shipment", headers=ctl)).json()[
        "code"
    ] == "no_shipment"
    assert (await client.get(f"{base}/orders/999999/shipment", headers=ctl)).status_code == 404
    assert len((await client.get(f"{base}/shipments", headers=svc)).json()) == 1

    # return / exchange
    r = await client.post(
        f"{base}/orders/{paid.id}/returns",
        json={"kind": "exchange", "reason": "wrong colour"},
        headers=svc,
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["kind"], req["status"]) == ("exchange", "requested")
    r = await client.post(
        f"{base}/orders/{paid.id}/returns", json={"kind": "return", "reason": "again"}, headers=svc
    )
    assert r.status_code == 409 and r.json()["code"] == "request_open"
    r = await client.post(
        f"{base}/orders/{unpaid.id}/returns", json={"kind": "return", "reason": "x"}, headers=svc
    )
    assert r.status_code == 409
    url = f"{base}/returns/{req['id']}"
    r = await client.patch(url, json={"status": "completed"}, headers=svc)
    assert r.status_code == 409 and r.json()["allowed"] == ["approved", "rejected"]
    for step in ("approved", "received", "completed"):
        r = await client.patch(url, json={"status": step, "note": step}, headers=svc)
        assert r.status_code == 200 and r.json()["status"] == step
    r = await client.post(
        f"{base}/orders/{paid.id}/returns",
        json={"kind": "return", "reason": "broke later"},
        headers=svc,
    )
    assert r.status_code == 201  # the earlier request is closed

    # complaints
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = await client.post(
        f"{base}/complaints",
        json={
            "viewer_id": "b",
            "category": "logistics",
            "description": "late",
            "deadline": past,
            "order_id": paid.id,
        },
        headers=svc,
    )
    assert r.status_code == 201, r.text
    late = r.json()
    assert late["overdue"] is True and late["status"] == "open"
    r = await client.post(
        f"{base}/complaints",
        json={"viewer_id": "c", "category": "quality", "description": "thread loose"},
        headers=svc,
    )
    fresh = r.json()
    deadline = datetime.fromisoformat(fresh["deadline"])
    assert timedelta(hours=47) < deadline - datetime.now(UTC) <= timedelta(hours=48)
    assert (
        await client.post(
            f"{base}/complaints",
            json={"viewer_id": "c", "category": "price", "description": "x"},
            headers=svc,
        )
    ).status_code == 422
    curl = f"{base}/complaints/{late['id']}"
    assert (await client.patch(curl, json={"status": "resolved"}, headers=svc)).status_code == 422
    r = await client.patch(
        curl, json={"status": "resolved", "resolution": "re-sent, apologised"}, headers=svc
    )
    assert r.status_code == 200
    assert r.json()["resolved_at"] and r.json()["overdue"] is False
    listed = (await client.get(f"{base}/complaints", params={"status": "open"}, headers=ctl)).json()
    assert [c["id"] for c in listed] == [fresh["id"]]

    # order list export
    r = await client.get(f"{base}/exports/orders", headers=ctl)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8")[1:])))
    header, first, second = rows
    row = dict(zip(header, first, strict=True))
    assert row["viewer_id"] == "'=cmd"  # no formula injection
    assert (row["amount"], row["tracking_number"], row["shipment_status"]) == (
        "119.80",
        "SF1234567890",
        "delivered",
    )
    assert row["return_status"] == "requested" and row["sku"] == product.sku
    assert dict(zip(header, second, strict=True))["status"] == "created"
    r = await client.get(f"{base}/exports/orders", params={"format": "xlsx"}, headers=ctl)
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None and len(list(ws.values)) == 3
