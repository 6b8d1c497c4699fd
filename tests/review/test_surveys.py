"""Satisfaction surveys: questions, responses, scores and averages."""

from __future__ import annotations

import httpx

from tests.conftest import Staff

SURVEY = {
    "title": "After the stream",
    "questions": [
        {"text": "Product quality", "kind": "score"},
        {"text": "Delivery speed", "kind": "score"},
        {"text": "Anything else?", "kind": "text"},
    ],
}


async def test_survey_scores_and_averages(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("sv_ctl", "controller")
    svc = await staff.user("sv_svc", "service")
    host = await staff.user("sv_host", "host")
    r = await client.post("/api/v1/streams", json={"title": "Survey"}, headers=ctl)
    sid = r.json()["id"]
    await staff.join(sid, "sv_svc", "service")
    await staff.join(sid, "sv_host", "host")
    base = f"/api/v1/streams/{sid}/surveys"
    assert (await client.post(base, json=SURVEY, headers=host)).status_code == 403
    r = await client.post(base, json=SURVEY, headers=svc)
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


async def _viewer(client: httpx.AsyncClient, stream_id: int) -> tuple[str, dict[str, str]]:
    r = await client.post(f"/api/v1/streams/{stream_id}/viewers")
    assert r.status_code == 201, r.text
    return r.json()["viewer_id"], {"Authorization": f"Bearer {r.json()['viewer_token']}"}


async def test_a_viewer_answers_a_survey_once_with_valid_scores(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    svc = await staff.user("sv2_svc", "service")
    sids = []
    for title in ("Answered here", "Another stream"):
        r = await client.post("/api/v1/streams", json={"title": title}, headers=staff.admin)
        sids.append(r.json()["id"])
        # a draft has no viewers (issue #19): scheduled, its watch page opens
        r = await client.post(
            f"/api/v1/streams/{sids[-1]}/schedule",
            json={"scheduled_start": "2030-01-01T20:00:00+08:00"},
            headers=staff.admin,
        )
        assert r.status_code == 200, r.text
        await staff.join(sids[-1], "sv2_svc", "service")
    a, b = sids
    survey = (await client.post(f"/api/v1/streams/{a}/surveys", json=SURVEY, headers=svc)).json()
    other = (await client.post(f"/api/v1/streams/{b}/surveys", json=SURVEY, headers=svc)).json()
    vid, viewer = await _viewer(client, a)
    mine = f"/api/v1/streams/{a}/my-surveys"

    listed = (await client.get(mine, headers=viewer)).json()
    assert [(s["id"], s["answered"], s["response"]) for s in listed] == [
        (survey["id"], False, None)
    ]
    assert listed[0]["questions"][0] == {"text": "Product quality", "kind": "score"}

    url = f"{mine}/{survey['id']}/response"
    r = await client.post(url, json={"answers": [5, 4, "包装很好"]}, headers=viewer)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["viewer_id"], got["source"], got["entered_by"]) == (vid, "viewer", None)
    assert (got["answers"], got["score"]) == ([5, 4, "包装很好"], 4.5)

    again = await client.post(url, json={"answers": [1, 1, None]}, headers=viewer)
    assert again.status_code == 409 and again.json()["code"] == "already_answered"
    staff_dup = await client.post(
        f"/api/v1/streams/{a}/surveys/{survey['id']}/responses",
        json={"viewer_id": vid, "answers": [1, 1, None]},
        headers=svc,
    )
    assert staff_dup.status_code == 409

    # another viewer: scores outside 1–5, a number for text → 422 with the bad indexes;
    # JSON true or 4.0 is no score at all → 422; nothing is kept
    _, second = await _viewer(client, a)
    for answers, bad in (([6, 0, "ok"], [0, 1]), ([5, "5", 3], [1, 2])):
        r = await client.post(url, json={"answers": answers}, headers=second)
        assert r.status_code == 422, r.text
        assert [e["index"] for e in r.json()["errors"]] == bad
    raws: list[list[object]] = [[True, 5, None], [4.0, 5, None]]
    for raw in raws:
        r = await client.post(url, json={"answers": raw}, headers=second)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    r = await client.post(url, json={"answers": [5]}, headers=second)
    assert r.status_code == 422 and r.json()["code"] == "answer_count"
    r = await client.post(url, json={"answers": [5, 5, None], "order_id": 999999}, headers=second)
    assert r.status_code == 422 and r.json()["code"] == "unknown_order"

    # wrong stream: this stream's token on the other stream, the other stream's survey here
    r = await client.post(
        f"/api/v1/streams/{b}/my-surveys/{other['id']}/response",
        json={"answers": [5, 5, None]},
        headers=viewer,
    )
    assert r.status_code == 403 and r.json()["code"] == "wrong_stream"
    r = await client.post(
        f"{mine}/{other['id']}/response", json={"answers": [5, 5, None]}, headers=second
    )
    assert r.status_code == 404 and r.json()["code"] == "survey_not_found"
    r = await client.post(url, json={"answers": [5, 5, None]}, headers=svc)
    assert r.status_code == 403 and r.json()["code"] == "viewer_only"
    assert (await client.post(url, json={"answers": [5, 5, None]})).status_code == 401
    assert (await client.get(f"/api/v1/streams/{b}/my-surveys", headers=viewer)).status_code == 403

    # staff entry still works, marked as such
    r = await client.post(
        f"/api/v1/streams/{a}/surveys/{survey['id']}/responses",
        json={"viewer_id": "called-v7", "answers": [3, None, "电话回访"]},
        headers=svc,
    )
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "staff" and r.json()["entered_by"] is not None

    res = (
        await client.get(f"/api/v1/streams/{a}/surveys/{survey['id']}/results", headers=svc)
    ).json()
    assert res["responses"] == 2
    assert [q["average"] for q in res["questions"]] == [4.0, 4.0, None]  # (5+3)/2, 4/1
    assert res["average_score"] == 4.0  # (5+4+3)/3
    listed = (await client.get(mine, headers=viewer)).json()
    assert listed[0]["answered"] is True and listed[0]["response"]["answers"] == [5, 4, "包装很好"]
