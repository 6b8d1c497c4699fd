"""CSV and XLSX renderings of the review report and of row lists (orders, segments)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from app.errors import BadRequest
from app.teamtime import local_iso

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

SUMMARY_KEYS = (
    "viewers",
    "entries",
    "peak_online",
    "avg_online",
    "total_watch_seconds",
    "avg_watch_seconds",
    "comments",
    "likes",
    "shares",
    "follows",
    "new_followers",
    "interaction_rate",
    "follower_conversion_rate",
    "product_clicks",
    "add_to_cart",
    "orders",
    "paid_orders",
    "cancelled_orders",
    "refunded_orders",
    "units_sold",
    "gmv",
    "refunds",
    "net_gmv",
    "paying_customers",
    "aov",
    "gpm",
    "conversion_rate",
    "refund_rate",
    "refund_order_rate",
    "payment_rate",
    "new_viewers",
    "returning_viewers",
)
PRODUCT_COLUMNS = (
    "product_id",
    "sku",
    "name",
    "position",
    "live_price",
    "product_clicks",
    "add_to_cart",
    "orders",
    "paid_orders",
    "cancelled_orders",
    "refunded_orders",
    "units_sold",
    "gmv",
    "refunds",
    "net_gmv",
    "click_to_order_rate",
    "refund_rate",
)
MINUTE_COLUMNS = (
    "minute",
    "online",
    "entries",
    "leaves",
    "comments",
    "likes",
    "shares",
    "follows",
    "product_clicks",
    "add_to_cart",
    "orders",
    "paid_orders",
    "units_sold",
    "gmv",
    "refunds",
)
SEGMENT_COLUMNS = (
    "position",
    "title",
    "kind",
    "start",
    "end",
    "product_clicks",
    "add_to_cart",
    "orders",
    "paid_orders",
    "gmv",
    "online_start",
    "online_end",
    "units_sold",
    "comments",
)
EXPLANATION_COLUMNS = (
    "product_id",
    "start",
    "end",
    "duration_seconds",
    "product_clicks",
    "add_to_cart",
    "orders",
    "paid_orders",
    "units_sold",
    "gmv",
)
QUESTION_COLUMNS = (
    "kind",
    "item_id",
    "text",
    "topic",
    "count",
    "askers",
    "negative",
    "status",
    "first_at",
    "answered_at",
    "answer_seconds",
)
TIMELINE_COLUMNS = ("at", "offset_seconds", "kind", "type", "level", "text", "resolved_at")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {sorted(FORMATS)}", code="bad_format")
    return fmt


def cell(value: Any) -> Any:
    """Spreadsheet-friendly value: times as RFC 3339 text in the team's time zone with
    its offset, to the second (`2026-12-05T20:01:00+08:00`), None as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_iso(value)
    return value


# A text cell starting with one of these is a formula (or becomes one) in spreadsheet
# programs: CSV/formula injection (=HYPERLINK(...), +1+1, @SUM(...)).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
# What an XLSX cell cannot hold (openpyxl's IllegalCharacterError): rows stored before
# input was checked (app/bounds.py) may still contain them.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: Any) -> Any:
    """The one sanitiser of every CSV and XLSX export: text that a spreadsheet would run
    as a formula gets a leading `'` (shown as text), and control characters an XLSX
    cannot hold become U+FFFD. Numbers and other values pass unchanged."""
    if not isinstance(value, str):
        return value
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("\ufffd", value)
    if value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def unquote_cell(value: str) -> str:
    """Undo `safe_cell`'s quote on import, so an exported file imports back unchanged."""
    if value.startswith("'") and value[1:2] in FORMULA_LEADS:
        return value[1:]
    return value


def _rows(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    return [[cell(r.get(c)) for c in columns] for r in rows]


def report_sections(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(sheet name, header, rows) for each part of the report."""
    summary = [[k, cell(report.get(k))] for k in SUMMARY_KEYS]
    funnel = [[f["step"], f["count"], f["viewers"], cell(f["rate"])] for f in report["funnel"]]
    diagnoses = [
        [
            d["code"],
            d.get("product_id") or d.get("segment_id") or "",
            d["message"],
            "; ".join(f"{k}={v}" for k, v in d["evidence"].items()),
        ]
        for d in report["diagnoses"]
    ]
    targets = [
        [t["metric"], t["target"], t["actual"], t["achievement"], t["met"]]
        for t in report["targets"]
    ]
    traffic = [[t["source"], t["viewers"], t["share"]] for t in report["traffic_sources"]]
    q = report["questions"]
    asked = [{**x, "kind": "question"} for x in q["top_questions"]]
    asked += [{**x, "kind": "complaint"} for x in q["top_complaints"]]
    sentiment = [
        ["comments_classified", q["comments_classified"]],
        ["blocked", q["blocked"]],
        *([f"sentiment_{k}", v] for k, v in q["sentiment"].items()),
        ["negative_share", q["negative_share"]],
        *([f"queue_{k}", cell(v)] for k, v in q["queue"].items()),
    ]
    comparison = [
        [k, cell(v["value"]), cell(v["median"]), cell(v["change"])]
        for k, v in report["comparison"]["figures"].items()
    ]
    return [
        ("Summary", ["figure", "value"], summary),
        ("Funnel", ["step", "count", "viewers", "rate"], funnel),
        ("Products", list(PRODUCT_COLUMNS), _rows(report["products"], PRODUCT_COLUMNS)),
        ("Minutes", list(MINUTE_COLUMNS), _rows(report["minutes"], MINUTE_COLUMNS)),
        ("Segments", list(SEGMENT_COLUMNS), _rows(report["segments"], SEGMENT_COLUMNS)),
        (
            "Explanations",
            list(EXPLANATION_COLUMNS),
            _rows(report["explanations"], EXPLANATION_COLUMNS),
        ),
        ("Targets", ["metric", "target", "actual", "achievement", "met"], targets),
        ("Diagnoses", ["code", "subject", "message", "evidence"], diagnoses),
        ("Traffic", ["source", "viewers", "share"], traffic),
        ("Questions", list(QUESTION_COLUMNS), _rows(asked, QUESTION_COLUMNS)),
        ("Sentiment", ["figure", "value"], sentiment),
        ("Timeline", list(TIMELINE_COLUMNS), _rows(report["timeline"], TIMELINE_COLUMNS)),
        ("Comparison", ["figure", "value", "median", "change"], comparison),
    ]


def to_csv(sections: Sequence[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    """One CSV; several sections are separated by a `# name` line and a blank line."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, (name, header, rows) in enumerate(sections):
        if len(sections) > 1:
            if i:
                writer.writerow([])
            writer.writerow([f"# {name}"])
        writer.writerow(header)
        writer.writerows([[safe_cell(v) for v in row] for row in rows])
    # A BOM so that spreadsheet programs read the Chinese text as UTF-8.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sections: Sequence[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    wb = Workbook()
    first = True
    for name, header, rows in sections:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = name[:31]
        ws.append(header)
        for row in rows:
            ws.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(fmt: str, sections: Sequence[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    return to_csv(sections) if fmt == "csv" else to_xlsx(sections)
