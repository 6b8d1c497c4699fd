"""Issue #16: per-minute series and exports in the team's time zone (Asia/Shanghai by
default) with the offset in every ISO time, the review timeline's alerts by code, and the
control console's live audience figures (traffic sources, average stay)."""

from __future__ import annotations

import csv
import io
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Staff
from tests.review.scenario import build

LOCAL_SECOND = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def _sections(body: bytes) -> dict[str, list[dict[str, str]]]:
    """The review CSV's `# name` sections as rows keyed by their header."""
    out: dict[str, list[dict[str, str]]] = {}
    name, header = "", None
    for row in csv.reader(io.StringIO(body.decode("utf-8").lstrip("\ufeff"))):
        if not row:
            continue
        if row[0].startswith("# "):
            name, header = row[0][2:], None
            out[name] = []
        elif header is None:
            header = row
        else:
            out[name].append(dict(zip(header, row, strict=True)))
    return out


async def test_exports_and_series_are_in_the_team_time_zone(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    r = await client.get(f"/api/v1/streams/{b.stream_id}/review/export", headers=b.headers)
    assert r.status_code == 200, r.text
    parts = _sections(r.content)
    minutes = [row["minute"] for row in parts["Minutes"]]
    # the stream ran 12:00–12:08 UTC: 20:00–20:08 in Beijing, to the second, with +08:00
    assert minutes[0] == "2026-11-20T20:00:00+08:00" and minutes[-1].startswith(
        "2026-11-20T20:08:00"
    )
    times = minutes + [row["start"] for row in parts["Segments"] if row["start"]]
    times += [row["at"] for row in parts["Timeline"]]
    times += [row["first_at"] for row in parts["Questions"] if row["first_at"]]
    assert times and all(LOCAL_SECOND.match(t) for t in times), times
    assert "Z" not in "".join(times) and "+00:00" not in "".join(times)
    # (the live per-minute series, /metrics/minutes: tests/live/test_ingest.py)


async def test_review_timeline_alerts_carry_their_code(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    rep = (await client.get(f"/api/v1/streams/{b.stream_id}/review", headers=b.headers)).json()
    alerts = [e for e in rep["timeline"] if e["kind"] == "alert"]
    assert alerts and all(a["code"] == f"alert.{a['type']}" for a in alerts)
    assert all(isinstance(a["params"], dict) for a in alerts)


async def test_live_audience_is_the_reviews_sources_and_stay(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    url = f"/api/v1/streams/{b.stream_id}/audience"
    r = await client.get(url, headers=b.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    rep = (await client.get(f"/api/v1/streams/{b.stream_id}/review", headers=b.headers)).json()
    assert got["viewers"] == rep["viewers"] == 5
    assert got["avg_watch_seconds"] == rep["avg_watch_seconds"] == 342.0
    assert got["sources"] == rep["traffic_sources"]
    assert got["sources"][0] == {"source": "feed", "viewers": 2, "share": 0.4}

    # the review's readers: analyst, controller, host (and admins); not service
    svc = await staff.user("aud_svc", "service")
    await staff.join(b.stream_id, "aud_svc", "service")
    assert (await client.get(url, headers=svc)).status_code == 403
    host = await staff.user("aud_host", "host")
    assert (await client.get(url, headers=host)).status_code == 403  # not on the team
    await staff.join(b.stream_id, "aud_host", "host")
    assert (await client.get(url, headers=host)).status_code == 200
    assert (await client.get(url)).status_code == 401
    missing = await client.get("/api/v1/streams/999999/audience", headers=staff.admin)
    assert missing.status_code == 404 and missing.json()["code"]
