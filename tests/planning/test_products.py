"""Point 3: the catalog, CSV import (all or nothing) and export."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import httpx

from app.i18n import localize
from tests.conftest import Staff, bearer, login
from tests.planning.helpers import product

HEADER = "sku,name,category,list_price,cost,stock,licensed,qc_status,selling_points,supplier\n"


async def skus(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    """Every SKU in the catalog (products committed by other tests included)."""
    r = await client.get("/api/v1/products?limit=1000", headers=headers)
    assert r.status_code == 200
    return {p["sku"] for p in r.json()}


async def test_create_read_update_product(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    body = {
        "sku": "LIP-001",
        "name": "丝绒口红 #01",
        "list_price": "129.00",
        "stock": 300,
        "category": "美妆",
        "cost": "45.50",
        "selling_points": ["持久不脱色", "滋润"],
        "usage_scenes": ["通勤", "约会"],
        "competitor_differences": ["比同价位更显色"],
        "image_urls": ["https://img.example.com/lip.jpg"],
        "supplier": "上海某工厂",
        "brand": "花西",
        "qc_status": "passed",
    }
    r = await client.post("/api/v1/products", json=body, headers=ctl)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["id"] and out["list_price"] == "129.00" and out["cost"] == "45.50"
    assert out["licensed"] is True and out["usage_scenes"] == ["通勤", "约会"]
    pid = out["id"]
    r = await client.patch(f"/api/v1/products/{pid}", json={"stock": 250}, headers=ctl)
    assert r.status_code == 200 and r.json()["stock"] == 250
    got = (await client.get(f"/api/v1/products/{pid}", headers=host)).json()
    assert got["stock"] == 250 and got["supplier"] == "上海某工厂"
    found = (await client.get("/api/v1/products?q=口红", headers=host)).json()
    assert [p["id"] for p in found] == [pid]


async def test_catalog_writes_need_admin_or_controller(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    before = await skus(client, ctl)
    pid = await product(client, ctl, "A1")
    for role in ("host", "service", "analyst"):
        headers = await staff.user(f"u_{role}", role)
        r = await client.post(
            "/api/v1/products",
            json={"sku": f"X-{role}", "name": "x", "list_price": "1", "stock": 1},
            headers=headers,
        )
        assert r.status_code == 403, role
        r = await client.patch(f"/api/v1/products/{pid}", json={"stock": 1}, headers=headers)
        assert r.status_code == 403
        r = await client.post(
            "/api/v1/products/import",
            content=HEADER + "Z1,z,,1,,1,true,passed,,\n",
            headers={**headers, "content-type": "text/csv"},
        )
        assert r.status_code == 403
    assert (await client.get("/api/v1/products")).status_code == 401
    assert await skus(client, ctl) - before == {"A1"}


async def test_bad_product_input_changes_nothing(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    before = await skus(client, ctl)
    await product(client, ctl, "DUP", stock=7)
    r = await client.post(
        "/api/v1/products",
        json={"sku": "DUP", "name": "again", "list_price": "1.00", "stock": 1},
        headers=ctl,
    )
    assert r.status_code == 409 and r.json()["code"] == "sku_taken"
    for bad in (
        {"sku": "N1", "name": "x", "list_price": 9.9, "stock": 1},
        {"sku": "N2", "name": "x", "list_price": "-1", "stock": 1},
        {"sku": "N3", "name": "x", "list_price": "1.999", "stock": 1},
        {"sku": "N4", "name": "x", "list_price": "1", "stock": -1},
        {"sku": "bad sku", "name": "x", "list_price": "1", "stock": 1},
        {"sku": "N5", "name": "x", "list_price": "1", "stock": 1, "image_urls": ["ftp://x"]},
        {"sku": "N6", "name": "x", "list_price": "1", "stock": 1, "qc_status": "great"},
        {"sku": "N7", "name": "x", "list_price": "1"},
    ):
        r = await client.post("/api/v1/products", json=bad, headers=ctl)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["field"]
    r = await client.patch("/api/v1/products/999999", json={"stock": 1}, headers=ctl)
    assert r.status_code == 404
    assert await skus(client, ctl) - before == {"DUP"}


async def test_csv_import_creates_and_updates(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    before = await skus(client, ctl)
    await product(client, ctl, "OLD-1", stock=1)
    text = HEADER + (
        "OLD-1,旧品改名,家居,59.90,20,40,true,passed,好用|耐用,供应商A\n"
        "NEW-1,新品 面霜,美妆,199,80.5,100,是,pending,,供应商B\n"
        "\n"
        'NEW-2,"含,逗号的名字",美妆,9.9,,5,false,failed,,\n'
    )
    r = await client.post(
        "/api/v1/products/import",
        content=text.encode(),
        headers={**ctl, "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 3 and r.json()["created"] == 2 and r.json()["updated"] == 1
    by_sku = {
        p["sku"]: p for p in (await client.get("/api/v1/products?limit=1000", headers=ctl)).json()
    }
    assert by_sku["OLD-1"]["name"] == "旧品改名" and by_sku["OLD-1"]["stock"] == 40
    assert by_sku["OLD-1"]["selling_points"] == ["好用", "耐用"]
    assert by_sku["NEW-1"]["cost"] == "80.50" and by_sku["NEW-1"]["licensed"] is True
    assert by_sku["NEW-2"]["name"] == "含,逗号的名字" and by_sku["NEW-2"]["licensed"] is False
    # the same as a multipart upload, in GB18030 as Excel on Chinese Windows saves it
    gbk = (HEADER + "GBK-1,国标编码商品,,10,,3,true,passed,,\n").encode("gb18030")
    r = await client.post(
        "/api/v1/products/import",
        files={"file": ("products.csv", gbk, "text/csv")},
        headers=ctl,
    )
    assert r.status_code == 200, r.text
    assert await skus(client, ctl) - before == {"OLD-1", "NEW-1", "NEW-2", "GBK-1"}


async def test_csv_with_bad_rows_reports_each_and_imports_nothing(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    before = await skus(client, ctl)
    text = HEADER + (
        "OK-1,好的,,10,,1,true,passed,,\n"
        "BAD-1,,,10,,1,true,passed,,\n"
        "BAD-2,价格错,,abc,,1,true,passed,,\n"
        "OK-1,重复,,10,,1,true,passed,,\n"
        "BAD-3,库存负,,10,,-5,maybe,passed,,\n"
    )
    r = await client.post(
        "/api/v1/products/import", content=text, headers={**ctl, "content-type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "csv_invalid" and "nothing was imported" in body["detail"]
    lines = {(e["line"], e["field"]) for e in body["errors"]}
    assert (3, "name") in lines and (4, "list_price") in lines and (5, "sku") in lines
    assert (6, "stock") in lines and (6, "licensed") in lines
    assert all(e["reason"] for e in body["errors"])
    # each reason also by catalogue code + params, so the console words it in its language
    by_place = {(e["line"], e["field"]): e for e in body["errors"]}
    assert by_place[(3, "name")]["code"] == "validation.string_too_short"
    assert by_place[(5, "sku")]["code"] == "csv.sku_repeated"
    assert by_place[(5, "sku")]["params"] == {"first_line": 2}
    assert by_place[(6, "stock")]["code"] == "validation.greater_than_equal"
    assert by_place[(6, "stock")]["params"]["field"] == "stock"
    assert all(localize(e["code"], e["params"], "zh") for e in body["errors"])
    assert await skus(client, ctl) == before
    # a wrong header, an empty file, a wrong media type
    r = await client.post(
        "/api/v1/products/import",
        content="sku,name,price\nA,b,1\n",
        headers={**ctl, "content-type": "text/csv"},
    )
    assert r.status_code == 422
    assert {(e["field"], e["reason"]) for e in r.json()["errors"]} >= {
        ("price", "unknown column"),
        ("list_price", "missing required column"),
    }
    assert {(e["field"], e["code"]) for e in r.json()["errors"]} >= {
        ("price", "csv.unknown_column"),
        ("list_price", "csv.missing_column"),
    }
    r = await client.post(
        "/api/v1/products/import", content="", headers={**ctl, "content-type": "text/csv"}
    )
    assert r.status_code == 422
    r = await client.post("/api/v1/products/import", json={"sku": "x"}, headers=ctl)
    assert r.status_code == 415
    r = await client.post("/api/v1/products/import", files={"other": ("a.csv", b"x")}, headers=ctl)
    assert r.status_code == 422 and r.json()["code"] == "csv_missing"
    assert await skus(client, ctl) == before


async def test_csv_export_round_trips(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    await product(
        client, ctl, "EXP-1", stock=12, selling_points=["轻薄", "透气"], cost="3.10", licensed=False
    )
    r = await client.get("/api/v1/products/export", headers=ctl)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = [
        row
        for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))
        if row["sku"] == "EXP-1"
    ]
    assert rows[0]["sku"] == "EXP-1" and rows[0]["selling_points"] == "轻薄|透气"
    assert rows[0]["list_price"] == "99.00" and rows[0]["licensed"] == "false"
    # re-importing the export changes nothing and is accepted
    r2 = await client.post(
        "/api/v1/products/import", content=r.content, headers={**ctl, "content-type": "text/csv"}
    )
    assert r2.status_code == 200 and r2.json()["created"] == 0, r2.text
    assert (await client.get("/api/v1/products/export", headers=host)).status_code == 403


async def test_concurrent_creates_of_one_sku_give_one_product(
    committed_client: httpx.AsyncClient,
) -> None:
    admin = bearer(await login(committed_client, "admin"))
    sku = f"RACE-{uuid.uuid4().hex[:8]}"
    body = {"sku": sku, "name": "并发", "list_price": "1.00", "stock": 1}
    results = await asyncio.gather(
        *(committed_client.post("/api/v1/products", json=body, headers=admin) for _ in range(8))
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 7, [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"sku_taken"}
    found = (await committed_client.get(f"/api/v1/products?q={sku}", headers=admin)).json()
    assert len(found) == 1
