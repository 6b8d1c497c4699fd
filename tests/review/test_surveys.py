"""Satisfaction surveys: questions, responses, scores and averages."""

from __future__ import annotations

import httpx

from tests.conftest import Staff


async def test_survey_scores_and_averages(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("sv_ctl", "controller")
    svc = await staff.user("sv_svc", "service")
    host = await staff.user("sv_host", "host")
    r = await client.post("/api/v1/streams", json={"title": "Survey"}, headers=ctl)
    sid = r.json()["id"]
    await staff.join(sid, "sv_svc", "service")
    await staff.join(sid, "sv_host", "host")
    base = f"/api/v1/streams/{sid}/surveys"
    body = {
        "title": "After the stream",
        "questions": [
            {"text": "Product quality", "kind": "score"},
            {"text": "Delivery speed", "kind": "score"},
            {"text": "Anything else?", "kind": "text"},
        ],
    }
    assert (await client.post(base, json=body, headers=host)).status_code == 403
    r = await client.post(base, json=body, headers=svc)
    assert r.status_code == 201, r.text
    survey = r.json()["id"]
    url = f"{base}/{survey}/responses"
    answers = [("v1", [5, 4, "great"]), ("v2", [4, 3, None]), ("v3", [5, None, "slow"])]
    for viewer, ans in answers:
        r = await client.post(url, json={"viewer_id": viewer, "answers": ans}, headers=svc)
        assert r.status_code == 201, r.text
    assert r.json()["score"] == 5.0
    dup = await client.post(url, json={"viewer_id": "v1", "answers": [1, 1, ""]}, headers=svc)
    assert dup.status_code == 409 and dup.json()["code"] == "already_answered"
    bad = await client.post(url, json={"viewer_id": "v9", "answers": [6, "x", 3]}, headers=svc)
    assert bad.status_code == 422
    assert [e["index"] for e in bad.json()["errors"]] == [0, 1, 2]
    short = await client.post(url, json={"viewer_id": "v9", "answers": [5]}, headers=svc)
    assert short.status_code == 422 and short.json()["code"] == "answer_count"

    res = (await client.get(f"{base}/{survey}/results", headers=ctl)).json()
    assert res["responses"] == 3
    q1, q2, q3 = res["questions"]
    assert q1["average"] == 4.67 and q1["responses"] == 3  # (5+4+5)/3
    assert q1["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 2}
    assert q2["average"] == 3.5 and q2["responses"] == 2
    assert q3["responses"] == 2 and q3["average"] is None
    assert res["average_score"] == 4.2  # (5+4+5+4+3)/5
    assert len((await client.get(url, headers=svc)).json()) == 3
    assert (await client.get(f"{base}/999999/results", headers=svc)).status_code == 404
