"""Every CSV/XLSX export neutralises formula-leading text and holds old rows' control
characters (one function, app/services/exports.py `safe_cell`); one test per export."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Order, OrderStatus, Product
from app.services.exports import safe_cell
from tests.conftest import Staff
from tests.review.helpers import T0, at, log_events
from tests.review.scenario import build, ev

EVIL = ['=HYPERLINK("http://x.example","点我")', "=1+1", "+1+1", "-2+3", "@SUM(1,1)", "\tx"]
CONTROL = "围巾\x01\x07"  # stored before input was checked


def _csv_cells(body: bytes) -> list[str]:
    text = body.decode("utf-8").removeprefix("\ufeff")
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _xlsx_cells(body: bytes) -> list[Any]:
    wb = load_workbook(io.BytesIO(body))
    return [c for ws in wb.worksheets for row in ws.values for c in row]


def _assert_neutral(cells: list[Any], expected: list[str]) -> None:
    texts = [c for c in cells if isinstance(c, str)]
    for value in expected:
        assert safe_cell(value) in texts, (value, texts)
    for c in texts:
        if _is_number(c):
            continue  # a number written by the CSV writer, e.g. a change of -0.2
        assert not c.startswith(("=", "+", "-", "@", "\t", "\r")), c


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def test_safe_cell() -> None:
    assert [safe_cell(v) for v in EVIL] == ["'" + v for v in EVIL]
    assert safe_cell("\rcmd") == "'\rcmd"
    assert safe_cell(CONTROL) == "围巾\ufffd\ufffd"
    assert safe_cell("普通 name") == "普通 name"
    assert safe_cell(-5) == -5 and safe_cell(Decimal("-1.5")) == Decimal("-1.5")


async def test_products_export(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    for name in [*EVIL, CONTROL]:
        session.add(Product(sku=f"EV-{uuid.uuid4().hex[:8]}", name=name, list_price=Decimal(9)))
    await session.commit()
    r = await client.get("/api/v1/products/export", headers=staff.admin)
    assert r.status_code == 200, r.text
    _assert_neutral(_csv_cells(r.content), [*EVIL, CONTROL])


async def test_review_report_export_csv_and_xlsx(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    await session.execute(update(Product).where(Product.id == b.p1).values(name="=1+1" + CONTROL))
    await session.commit()
    url = f"/api/v1/streams/{b.stream_id}/review/export"
    for fmt, cells in (("csv", _csv_cells), ("xlsx", _xlsx_cells)):
        r = await client.get(url, params={"format": fmt}, headers=b.headers)
        assert r.status_code == 200, (fmt, r.text)
        _assert_neutral(cells(r.content), ["=1+1" + CONTROL])


async def test_segment_export(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    viewers = ["@SUM(1,1)", "=cmd|' /C calc'!A0", "v\x02x"]
    await log_events(session, b.stream_id, [ev("viewer_join", v, at(0, 30)) for v in viewers])
    await session.commit()
    url = f"/api/v1/streams/{b.stream_id}/viewer-segments/newcomer/export"
    for fmt, cells in (("csv", _csv_cells), ("xlsx", _xlsx_cells)):
        r = await client.get(url, params={"format": fmt}, headers=b.headers)
        assert r.status_code == 200, (fmt, r.text)
        _assert_neutral(cells(r.content), viewers)


async def test_orders_export(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    session.add(
        Order(
            stream_id=b.stream_id,
            product_id=b.p1,
            viewer_id="+1+1",
            quantity=1,
            unit_price=Decimal("1"),
            discount=Decimal("0"),
            amount=Decimal("1"),
            status=OrderStatus.created,
            idempotency_key=uuid.uuid4().hex,
            created_at=T0,
        )
    )
    await session.execute(update(Product).where(Product.id == b.p1).values(name="-1" + CONTROL))
    await session.commit()
    url = f"/api/v1/streams/{b.stream_id}/exports/orders"
    for fmt, cells in (("csv", _csv_cells), ("xlsx", _xlsx_cells)):
        r = await client.get(url, params={"format": fmt}, headers=b.headers)
        assert r.status_code == 200, (fmt, r.text)
        _assert_neutral(cells(r.content), ["+1+1", "-1" + CONTROL])


async def test_exported_products_import_back_unchanged(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    r = await client.post(
        "/api/v1/products",
        json={"sku": "RT-1", "name": "-50% 特价", "list_price": "10.00", "stock": 5},
        headers=staff.admin,
    )
    assert r.status_code == 201, r.text
    exported = (await client.get("/api/v1/products/export", headers=staff.admin)).content
    assert "'-50% 特价" in exported.decode()
    r = await client.post(
        "/api/v1/products/import",
        files={"file": ("p.csv", exported, "text/csv")},
        headers=staff.admin,
    )
    assert r.status_code in (200, 201), r.text
    got = (await client.get("/api/v1/products", headers=staff.admin)).json()
    items = got["items"] if isinstance(got, dict) else got
    assert [p["name"] for p in items if p["sku"] == "RT-1"] == ["-50% 特价"]
