"""Point 7: the script / rundown."""

from __future__ import annotations

import httpx

from tests.conftest import Staff
from tests.planning.helpers import product, stream


async def test_segments_timing_report_and_copy(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    sid = await stream(client, ctl, planned_minutes=30)
    await staff.join(sid, "host", "host")
    pid = await product(client, ctl, "S1")
    base = f"/api/v1/streams/{sid}/script"
    r = await client.post(
        f"{base}/segments",
        json={
            "kind": "opening",
            "title": "开场暖场",
            "duration_seconds": 300,
            "talking_points": ["欢迎来到直播间", "今天福利多多"],
            "cues": ["发红包"],
        },
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    assert r.json()["start_offset_seconds"] == 0 and r.json()["end_offset_seconds"] == 300
    r = await client.post(
        f"{base}/segments",
        json={"kind": "product", "title": "讲解", "duration_seconds": 900, "product_id": pid},
        headers=ctl,
    )
    assert r.json()["start_offset_seconds"] == 300 and r.json()["position"] == 2
    r = await client.post(
        f"{base}/segments",
        json={
            "kind": "interaction",
            "title": "抽福袋",
            "start_offset_seconds": 1300,
            "duration_seconds": 200,
        },
        headers=ctl,
    )
    seg3 = r.json()["id"]
    report = (await client.get(base, headers=host)).json()
    assert [s["kind"] for s in report["segments"]] == ["opening", "product", "interaction"]
    assert report["total_seconds"] == 1400 and report["span_seconds"] == 1500
    assert report["planned_seconds"] == 1800 and report["difference_seconds"] == -300
    assert report["gaps"] == [
        {
            "start_offset_seconds": 1200,
            "seconds": 100,
            "after_segment_id": report["segments"][1]["id"],
            "before_segment_id": seg3,
        }
    ]
    r = await client.patch(
        f"{base}/segments/{seg3}", json={"start_offset_seconds": 1100}, headers=ctl
    )
    assert r.status_code == 200
    report = (await client.get(base, headers=ctl)).json()
    assert report["gaps"] == [] and report["overlaps"][0]["seconds"] == 100
    # copy as template into a new stream
    target = await stream(client, ctl)
    r = await client.post(
        f"/api/v1/streams/{target}/script/copy", json={"source_stream_id": sid}, headers=ctl
    )
    assert r.status_code == 200, r.text
    copied = r.json()["segments"]
    assert [(s["title"], s["start_offset_seconds"]) for s in copied] == [
        (s["title"], s["start_offset_seconds"]) for s in report["segments"]
    ]
    assert copied[0]["talking_points"] == ["欢迎来到直播间", "今天福利多多"]
    assert all(s["stream_id"] == target for s in copied)
    r = await client.post(
        f"/api/v1/streams/{target}/script/copy", json={"source_stream_id": sid}, headers=ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "script_not_empty"
    r = await client.post(
        f"/api/v1/streams/{target}/script/copy",
        json={"source_stream_id": sid, "replace": True},
        headers=ctl,
    )
    assert r.status_code == 200 and len(r.json()["segments"]) == 3
    assert (await client.delete(f"{base}/segments/{seg3}", headers=ctl)).status_code == 204
    assert len((await client.get(base, headers=ctl)).json()["segments"]) == 2


async def test_host_reads_but_may_not_write_the_script(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    outsider = await staff.user("out", "controller")
    sid = await stream(client, ctl)
    await staff.join(sid, "host", "host")
    seg = {"kind": "opening", "title": "开场", "duration_seconds": 60}
    base = f"/api/v1/streams/{sid}/script"
    assert (await client.post(f"{base}/segments", json=seg, headers=host)).status_code == 403
    assert (await client.put(base, json={"segments": [seg]}, headers=host)).status_code == 403
    assert (await client.get(base, headers=outsider)).status_code == 403
    # copying needs access to the source stream too
    theirs = await stream(client, outsider)
    r = await client.put(
        f"/api/v1/streams/{theirs}/script", json={"segments": [seg]}, headers=outsider
    )
    assert r.status_code == 200
    r = await client.post(f"{base}/copy", json={"source_stream_id": theirs}, headers=ctl)
    assert r.status_code == 403
    assert (await client.get(base, headers=host)).json()["segments"] == []


async def test_bad_segments_change_nothing(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    sid = await stream(client, ctl)
    base = f"/api/v1/streams/{sid}/script"
    good = {"kind": "opening", "title": "开场", "duration_seconds": 60}
    assert (await client.put(base, json={"segments": [good]}, headers=ctl)).status_code == 200
    for bad in (
        {**good, "kind": "dance"},
        {**good, "duration_seconds": 0},
        {**good, "start_offset_seconds": -5},
        {**good, "title": ""},
        {**good, "talking_points": [""]},
    ):
        r = await client.post(f"{base}/segments", json=bad, headers=ctl)
        assert r.status_code == 422, bad
    r = await client.post(f"{base}/segments", json={**good, "product_id": 999999}, headers=ctl)
    assert r.status_code == 422 and r.json()["code"] == "product_not_found"
    # a whole-script replace with one bad segment replaces nothing
    r = await client.put(
        base, json={"segments": [good, {**good, "product_id": 999999}]}, headers=ctl
    )
    assert r.status_code == 422
    r = await client.patch(f"{base}/segments/999999", json={"title": "x"}, headers=ctl)
    assert r.status_code == 404
    seg_id = (await client.get(base, headers=ctl)).json()["segments"][0]["id"]
    r = await client.patch(
        f"{base}/segments/{seg_id}", json={"duration_seconds": None}, headers=ctl
    )
    assert r.status_code == 422
    r = await client.post(f"{base}/copy", json={"source_stream_id": sid}, headers=ctl)
    assert r.status_code == 422 and r.json()["code"] == "same_stream"
    empty = await stream(client, ctl)
    r = await client.post(
        f"{base}/copy", json={"source_stream_id": empty, "replace": True}, headers=ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "source_script_empty"
    segs = (await client.get(base, headers=ctl)).json()["segments"]
    assert [(s["title"], s["duration_seconds"]) for s in segs] == [("开场", 60)]
