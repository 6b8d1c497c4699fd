from __future__ import annotations

import httpx

from tests.conftest import Staff


async def test_staff_classify_a_batch_in_order(client: httpx.AsyncClient, staff: Staff) -> None:
    headers = await staff.user("svc_classify", "service")
    texts = ["尺码怎么选？", "已拍", "加V看更多低价同款 vx：abc8866", "快递三天没动了 差评"]
    r = await client.post("/api/v1/comments/classify", json={"texts": texts}, headers=headers)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["kind"] for x in results] == ["question", "purchase", "spam", "complaint"]
    assert results[0] == {
        "kind": "question",
        "topic": "product",
        "sentiment": "neutral",
        "blocked": False,
    }
    assert results[2]["blocked"] is True and results[2]["topic"] == "none"
    assert results[3]["topic"] == "logistics" and results[3]["sentiment"] == "negative"


async def test_every_staff_role_may_classify(client: httpx.AsyncClient, staff: Staff) -> None:
    for role in ("host", "controller", "analyst"):
        headers = await staff.user(f"cls_{role}", role)
        r = await client.post("/api/v1/comments/classify", json={"texts": []}, headers=headers)
        assert r.status_code == 200 and r.json() == {"results": []}


async def test_classify_needs_a_staff_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/comments/classify", json={"texts": ["hi"]})
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/comments/classify",
        json={"texts": ["hi"]},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert r.status_code == 401


async def test_a_thousand_texts_pass_and_one_more_is_422(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    headers = await staff.user("svc_batch", "service")
    ok = await client.post(
        "/api/v1/comments/classify", json={"texts": ["多少钱"] * 1000}, headers=headers
    )
    assert ok.status_code == 200
    assert len(ok.json()["results"]) == 1000
    too_many = await client.post(
        "/api/v1/comments/classify", json={"texts": ["多少钱"] * 1001}, headers=headers
    )
    assert too_many.status_code == 422
    assert "detail" in too_many.json()


async def test_non_strings_and_bad_bodies_are_422(client: httpx.AsyncClient, staff: Staff) -> None:
    headers = await staff.user("svc_bad", "service")
    for body in (
        {"texts": ["ok", 1]},
        {"texts": [None]},
        {"texts": "not a list"},
        {},
        {"texts": ["ok"], "extra": 1},
    ):
        r = await client.post("/api/v1/comments/classify", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"], body
