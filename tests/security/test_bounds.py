"""Numbers the database cannot hold are refused by the schema (422), never a 500
(PostgreSQL's `integer` is 32-bit; asyncpg used to raise `value out of int32 range`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.bounds import INT_MAX, INT_MIN
from tests.conftest import Staff

BIG = 2**31
HUGE = 2**63


def _integer_schemas(node: Any, spec: dict[str, Any], where: str, seen: set[str]) -> list[Any]:
    """(where, schema) of every integer schema reachable from `node`."""
    found: list[Any] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return found
            target: Any = spec
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            return _integer_schemas(target, spec, f"{where}→{ref.rsplit('/', 1)[-1]}", seen | {ref})
        if node.get("type") == "integer":
            found.append((where, node))
        for key, value in node.items():
            found.extend(_integer_schemas(value, spec, f"{where}.{key}", seen))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_integer_schemas(value, spec, f"{where}[{i}]", seen))
    return found


async def test_every_integer_input_of_the_openapi_is_bounded(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    unbounded = []
    count = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            inputs = {"parameters": op.get("parameters", []), "body": op.get("requestBody", {})}
            for where, schema in _integer_schemas(inputs, spec, f"{method} {path}", set()):
                count += 1
                if not (
                    schema.get("minimum", schema.get("exclusiveMinimum", -HUGE)) >= INT_MIN
                    and schema.get("maximum", schema.get("exclusiveMaximum", HUGE)) <= INT_MAX + 1
                ):
                    unbounded.append(where)
    assert count > 100
    assert unbounded == []


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", f"/api/v1/streams/{BIG}", None),
        ("get", f"/api/v1/users/{BIG}", None),
        ("get", "/api/v1/streams/{sid}/orders?offset=" + str(HUGE), None),
        ("get", "/api/v1/streams/{sid}/orders?product_id=" + str(BIG), None),
        ("get", "/api/v1/streams/{sid}/actions?before_id=" + str(BIG), None),
        ("get", f"/api/v1/streams/{{sid}}/comments?after_id={HUGE}", None),
        ("post", "/api/v1/streams", {"title": "大数", "target_viewers": BIG}),
        ("post", "/api/v1/streams/{sid}/quick-replies", {"text": "你好", "product_id": BIG}),
        ("put", f"/api/v1/streams/{{sid}}/team/{BIG}", {"role": "host"}),
        ("patch", f"/api/v1/products/{-BIG - 1}", {"name": "x"}),
    ],
)
async def test_out_of_range_numbers_are_422_naming_the_field(
    client: httpx.AsyncClient,
    staff: Staff,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    r = await client.post("/api/v1/streams", json={"title": "界内"}, headers=staff.admin)
    assert r.status_code == 201, r.text
    url = path.replace("{sid}", str(r.json()["id"]))
    r = await client.request(method, url, json=body, headers=staff.admin)
    assert r.status_code == 422, (url, r.status_code, r.text)
    problem = r.json()
    assert problem["code"] == "validation_error"
    assert problem["detail"][0]["field"], problem


async def test_without_login_too(client: httpx.AsyncClient) -> None:
    r = await client.post(f"/api/v1/streams/{BIG}/viewers", json={})
    assert r.status_code == 422, r.text
    r = await client.get(f"/api/v1/streams/{BIG}/storefront")
    assert r.status_code == 422, r.text


async def test_replies_and_faq_naming_no_product_are_404(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    """Found by the schemathesis run: the foreign key answered 500."""
    r = await client.post("/api/v1/streams", json={"title": "FAQ"}, headers=staff.admin)
    sid = r.json()["id"]
    for path, body in (
        ("quick-replies", {"title": "尺码", "body": "看详情页", "product_id": 0}),
        ("faq", {"question": "包邮吗", "answer": "包邮", "product_id": 987654}),
    ):
        r = await client.post(f"/api/v1/streams/{sid}/{path}", json=body, headers=staff.admin)
        assert r.status_code == 404 and r.json()["code"] == "product_not_found", r.text
        listed = await client.get(f"/api/v1/streams/{sid}/{path}", headers=staff.admin)
        assert listed.json() == []
