"""Viewer tags/segments with CSV export, and the report's CSV/XLSX export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.models import ItemStatus, QueueItem, ViewerMute
from tests.conftest import Staff
from tests.review.helpers import T0, at, log_events, make_stream
from tests.review.scenario import build, ev


def _csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


async def test_viewer_segments_and_segment_export(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    url = f"/api/v1/streams/{b.stream_id}/viewer-segments"
    r = await client.get(url, headers=b.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["viewers"] == 5
    counts = {s["tag"]: s["viewers"] for s in body["segments"]}
    assert counts == {
        "newcomer": 4,  # b c d e (a watched last week)
        "watched_without_buying": 2,  # b c (e never joined; a and d paid)
        "buyer": 2,  # a d
        "repeat_buyer": 0,
        "high_value": 0,
    }
    r = await client.get(url, params={"high_value_min": "100.00"}, headers=b.headers)
    assert {s["tag"]: s["viewers"] for s in r.json()["segments"]}["high_value"] == 1  # a

    r = await client.get(f"{url}/newcomer/export", headers=b.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _csv(r.content)
    header = rows[0]
    assert header[:2] == ["viewer_id", "tags"]
    got = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert sorted(got) == ["b", "c", "d", "e"]
    assert got["b"]["tags"] == "newcomer watched_without_buying"
    assert got["d"]["tags"] == "newcomer buyer"
    assert [got[v]["watch_seconds"] for v in "bcde"] == ["320.0", "370.0", "540.0", "0.0"]
    assert got["d"]["paid_amount"] == "99.00" and got["d"]["source"] == "ads"

    assert (await client.get(f"{url}/nonsense/export", headers=b.headers)).status_code == 404
    bad = await client.get(f"{url}/buyer/export", params={"format": "pdf"}, headers=b.headers)
    assert bad.status_code == 422
    host = await staff.user("seg_host", "host")
    await staff.join(b.stream_id, "seg_host", "host")
    assert (await client.get(url, headers=host)).status_code == 403

    # d buys again on a later stream of the team: a repeat buyer there
    later = await make_stream(client, session, b.headers, "Next week", T0 + timedelta(days=7))
    await log_events(
        session,
        later.id,
        [
            ev("viewer_join", "d", at(0, base=later.started_at or T0)),
            ev("order_paid", "d", at(1, base=later.started_at or T0), b.p2, 1, "99.00"),
        ],
    )
    await session.commit()
    r = await client.get(
        f"/api/v1/streams/{later.id}/viewer-segments/repeat_buyer/export",
        params={"format": "xlsx"},
        headers=b.headers,
    )
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    values = list(ws.values)
    assert values[0][0] == "viewer_id" and [v[0] for v in values[1:]] == ["d"]
    assert values[1][1] == "buyer repeat_buyer"


async def test_report_export_csv_and_xlsx(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    b = await build(client, session, staff)
    url = f"/api/v1/streams/{b.stream_id}/review/export"
    r = await client.get(url, headers=b.headers)
    assert r.status_code == 200, r.text
    rows = _csv(r.content)
    assert rows[0] == ["# Summary"] and rows[1] == ["figure", "value"]
    summary = {row[0]: row[1] for row in rows[2:34]}
    assert summary["gmv"] == "218.80" and summary["viewers"] == "5"
    assert summary["aov"] == "109.40" and summary["avg_watch_seconds"] == "342.0"
    products_at = rows.index(["# Products"])
    assert rows[products_at + 2][0] == str(b.p1) and rows[products_at + 2][12] == "119.80"

    r = await client.get(url, params={"format": "xlsx"}, headers=b.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == [
        "Summary",
        "Funnel",
        "Products",
        "Minutes",
        "Segments",
        "Explanations",
        "Targets",
        "Diagnoses",
        "Traffic",
        "Questions",
        "Sentiment",
        "Timeline",
        "Comparison",
    ]
    segments = list(wb["Segments"].values)
    assert segments[0][-4:] == ("online_start", "online_end", "units_sold", "comments")
    assert [(r[1], r[7], r[8], r[9]) for r in segments[1:]] == [  # orders, paid, gmv
        ("Opening", 1, 0, "0.00"),
        ("Scarf", 2, 2, "218.80"),
        ("Closing", 0, 0, "0.00"),
    ]
    assert list(wb["Traffic"].values)[1] == ("feed", 2, 0.4)
    timeline = list(wb["Timeline"].values)
    assert [(r[1], r[2], r[3]) for r in timeline[1:]] == [
        (180, "incident", "technical"),
        (330, "alert", "online_drop"),
    ]
    comparison = {r[0]: r[1:] for r in list(wb["Comparison"].values)[1:]}
    assert comparison["gmv"] == ("218.80", "59.90", 2.6528)
    funnel = list(wb["Funnel"].values)
    assert funnel[1:] == [
        ("viewers", 5, 5, None),
        ("product_clicks", 3, 3, 0.6),
        ("add_to_cart", 2, 2, 0.6667),
        ("orders", 3, 3, 1.5),
        ("paid_orders", 2, 2, 0.6667),
    ]
    assert len(list(wb["Minutes"].values)) == 1 + 9
    assert (await client.get(url, params={"format": "doc"}, headers=b.headers)).status_code == 422


async def test_top_questions_sentiment_and_asked_about_tags(
    client: httpx.AsyncClient, session: AsyncSession, staff: Staff
) -> None:
    ctl = await staff.user("q_ctl", "controller")
    s = await make_stream(client, session, ctl, "Questions", T0)
    session.add(ViewerMute(stream_id=s.id, viewer_id="m", until=utcnow() + timedelta(days=1)))
    said = [
        ("a", "这个多少钱"),
        ("b", "这个多少钱"),
        ("b", "这个多少钱"),
        ("c", "什么时候发货"),
        ("d", "主播好美"),
        ("e", "质量太差了，退货"),
        ("a", "有没有优惠券"),
        ("m", "什么时候发货"),  # muted: blocked, counted apart, asks nothing
    ]
    events = []
    for i, (viewer, text) in enumerate(said):
        comment = ev("comment", viewer, at(0, i))
        comment.text = text
        events.append(comment)
    await log_events(session, s.id, events)  # the projection takes the comments in
    items = {
        i.title: i
        for i in (await session.execute(select(QueueItem).where(QueueItem.stream_id == s.id)))
        .scalars()
        .all()
    }
    # The service team answered 「这个多少钱」 95.5 s after it was first asked and
    # dismissed 「有没有优惠券」.
    price = items["这个多少钱"]
    price.status, price.answer = ItemStatus.answered, "59.90"
    price.answered_at = price.first_at + timedelta(seconds=95.5)
    items["有没有优惠券"].status = ItemStatus.dismissed
    await session.commit()

    rep = (await client.get(f"/api/v1/streams/{s.id}/review", headers=ctl)).json()
    q = rep["questions"]
    assert (q["comments_classified"], q["blocked"]) == (8, 1)
    assert q["sentiment"] == {"positive": 1, "negative": 1, "neutral": 5}
    assert q["negative_share"] == 0.1429  # 1 ÷ 7 visible comments
    assert q["question_topics"] == [
        {"topic": "promo", "questions": 4, "items": 2},
        {"topic": "logistics", "questions": 1, "items": 1},
    ]
    top = [
        (t["text"], t["topic"], t["count"], t["askers"], t["status"], t["answer_seconds"])
        for t in q["top_questions"]
    ]
    assert top == [
        ("这个多少钱", "promo", 3, 2, "answered", 95.5),
        ("什么时候发货", "logistics", 1, 1, "open", None),
        ("有没有优惠券", "promo", 1, 1, "dismissed", None),
    ]
    first = q["top_questions"][0]
    assert first["item_id"] == price.id and first["answered"] is True
    assert first["first_at"].startswith("2026-11-20T12:00:00")
    assert first["answered_at"].startswith("2026-11-20T12:01:35.5")
    assert [(t["text"], t["negative"]) for t in q["top_complaints"]] == [("质量太差了，退货", 1)]
    assert q["queue"] == {
        "question_items": 3,
        "askers": 4,
        "answered": 1,
        "unanswered": 1,
        "dismissed": 1,
        "answer_rate": 0.3333,
        "avg_answer_seconds": 95.5,
    }
    exported = _csv(
        (await client.get(f"/api/v1/streams/{s.id}/review/export", headers=ctl)).content
    )
    at_q = exported.index(["# Questions"])
    assert [(r[0], r[2], r[4], r[7], r[10]) for r in exported[at_q + 2 : at_q + 6]] == [
        ("question", "这个多少钱", "3", "answered", "95.5"),
        ("question", "什么时候发货", "1", "open", ""),
        ("question", "有没有优惠券", "1", "dismissed", ""),
        ("complaint", "质量太差了，退货", "1", "open", ""),
    ]
    at_s = exported.index(["# Sentiment"])
    assert exported[at_s + 2 : at_s + 4] == [["comments_classified", "8"], ["blocked", "1"]]
    seg = (await client.get(f"/api/v1/streams/{s.id}/viewer-segments", headers=ctl)).json()
    counts = {x["tag"]: x["viewers"] for x in seg["segments"]}
    assert counts["asked_about:promo"] == 2 and counts["asked_about:logistics"] == 1
    r = await client.get(
        f"/api/v1/streams/{s.id}/viewer-segments/asked_about:promo/export", headers=ctl
    )
    assert [row[0] for row in _csv(r.content)[1:]] == ["a", "b"]
