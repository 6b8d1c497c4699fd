"""Readiness (开播检查): what stands between a planned stream and going live.

Each finding is `{code, severity, message, ...details}`. Findings with severity
"block" stop `go-live` (unless an admin or controller forces it); "warn" findings are
shown but do not stop it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    ChecklistItem,
    CheckStatus,
    ContingencyPlan,
    LineupItem,
    Product,
    QCStatus,
    Role,
    Stream,
    TeamMember,
    WarmupCampaign,
)
from app.services import inventory
from app.services import script as script_service

BLOCK = "block"
WARN = "warn"


def finding(
    code: str,
    severity: str,
    message: str,
    params: dict[str, Any] | None = None,
    **details: Any,
) -> dict[str, Any]:
    """`message` is English here; `params` (the scalar details and `params`) word it by
    `code` in either language (app/i18n.py "readiness.<code>", `i18n.localize_findings`)."""
    scalars = {k: v for k, v in details.items() if isinstance(v, str | int | float)}
    return {
        "code": code,
        "severity": severity,
        "message": message,
        "params": {**scalars, **(params or {})},
        **details,
    }


async def readiness(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
    findings += await _lineup(session, stream)
    findings += await _team(session, stream)
    findings += await _checklist(session, stream)
    findings += await _script(session, stream)
    findings += await _contingency_and_warmup(session, stream)
    findings += await _compliance(session, stream)
    # blockers first, so a console can show the worst news on top
    findings.sort(key=lambda f: f["severity"] != BLOCK)
    return findings


async def _lineup(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rows = (
        await session.execute(
            select(LineupItem, Product)
            .join(Product, Product.id == LineupItem.product_id)
            .where(LineupItem.stream_id == stream.id)
            .order_by(LineupItem.position)
        )
    ).all()
    if not rows:
        return [finding("lineup_empty", BLOCK, "the lineup has no products")]
    for item, product in rows:
        ref: dict[str, Any] = {"product_id": product.id, "sku": product.sku, "name": product.name}
        if product.qc_status == QCStatus.failed or not product.licensed:
            failed = product.qc_status == QCStatus.failed
            reason = "failed QC" if failed else "is unlicensed (三无)"
            why = {"reason": "reason.qc_failed" if failed else "reason.unlicensed"}
            out.append(finding("product_ineligible", BLOCK, f"{product.name} {reason}", why, **ref))
        elif product.qc_status == QCStatus.pending:
            out.append(finding("qc_pending", WARN, f"{product.name} has not passed QC yet", **ref))
        if item.flash_sale_allotment > item.allotted_stock:
            out.append(
                finding(
                    "flash_allotment_exceeds_stock",
                    WARN,
                    f"{product.name}: flash-sale allotment {item.flash_sale_allotment} "
                    f"exceeds the allotted stock {item.allotted_stock}",
                    {"flash": item.flash_sale_allotment, "allotted": item.allotted_stock},
                    **ref,
                )
            )
    for entry in await inventory.stream_inventory(session, stream):
        details = {
            k: entry[k]
            for k in ("product_id", "sku", "name", "warehouse_stock", "allotted", "shortfall")
        }
        if entry["own_shortfall"] > 0:
            out.append(
                finding(
                    "stock_shortfall",
                    BLOCK,
                    f"{entry['name']}: {entry['allotted']} allotted but only "
                    f"{entry['warehouse_stock']} in the warehouse",
                    **{**details, "shortfall": entry["own_shortfall"]},
                )
            )
        elif entry["shortfall"] > 0:
            ids = [o["stream_id"] for o in entry["overlapping"]]
            out.append(
                finding(
                    "stock_shortfall_overlap",
                    BLOCK,
                    f"{entry['name']}: {entry['total_allotted']} allotted across streams at "
                    f"overlapping times {ids} but only {entry['warehouse_stock']} in the warehouse",
                    **details,
                    total_allotted=entry["total_allotted"],
                    overlapping=entry["overlapping"],
                )
            )
    return out


async def _team(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    hosts = await session.scalar(
        select(func.count())
        .select_from(TeamMember)
        .where(TeamMember.stream_id == stream.id, TeamMember.role == Role.host)
    )
    if not hosts:
        return [finding("no_host", BLOCK, "no host (主播) is on the team")]
    return []


async def _checklist(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    items = list(
        (
            await session.scalars(
                select(ChecklistItem)
                .where(ChecklistItem.stream_id == stream.id)
                .order_by(ChecklistItem.id)
            )
        ).all()
    )
    if not items:
        return [
            finding(
                "checklist_incomplete",
                BLOCK,
                "the technical checklist is empty",
                {"open": 0, "total": 0},
                items=[],
            )
        ]
    open_items = [i for i in items if i.status != CheckStatus.ok]
    if not open_items:
        return []
    return [
        finding(
            "checklist_incomplete",
            BLOCK,
            f"{len(open_items)} of {len(items)} checklist item(s) not OK",
            {"open": len(open_items), "total": len(items)},
            items=[
                {"id": i.id, "kind": i.kind.value, "label": i.label, "status": i.status.value}
                for i in open_items
            ],
        )
    ]


async def _script(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    segs = await script_service.segments(session, stream.id)
    if not segs:
        return [finding("script_missing", WARN, "the stream has no script")]
    report = script_service.analyze(segs, stream.planned_minutes)
    out = [
        finding(
            "script_gap",
            WARN,
            f"{g.seconds}s without a segment at {g.start_offset_seconds}s",
            **g.model_dump(),
        )
        for g in report.gaps
    ]
    out += [
        finding(
            "script_overlap",
            WARN,
            f"segments {o.segment_ids} overlap by {o.seconds}s",
            **o.model_dump(),
        )
        for o in report.overlaps
    ]
    if report.difference_seconds:
        out.append(
            finding(
                "script_duration_mismatch",
                WARN,
                f"the script runs {report.span_seconds}s, planned {report.planned_seconds}s",
                span_seconds=report.span_seconds,
                planned_seconds=report.planned_seconds,
                difference_seconds=report.difference_seconds,
            )
        )
    lineup_ids = set(
        (
            await session.scalars(
                select(LineupItem.product_id).where(LineupItem.stream_id == stream.id)
            )
        ).all()
    )
    for seg in segs:
        if seg.product_id is not None and seg.product_id not in lineup_ids:
            out.append(
                finding(
                    "script_product_not_in_lineup",
                    WARN,
                    f"segment '{seg.title}' is about product {seg.product_id}, "
                    "which is not in the lineup",
                    {"title": seg.title},
                    segment_id=seg.id,
                    product_id=seg.product_id,
                )
            )
    return out


async def _contingency_and_warmup(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    out = []
    plans = await session.scalar(
        select(func.count())
        .select_from(ContingencyPlan)
        .where(ContingencyPlan.stream_id == stream.id)
    )
    if not plans:
        out.append(finding("no_contingency_plan", WARN, "no contingency plan (应急预案)"))
    warmups = await session.scalar(
        select(func.count())
        .select_from(WarmupCampaign)
        .where(WarmupCampaign.stream_id == stream.id)
    )
    if not warmups:
        out.append(finding("no_warmup", WARN, "no warm-up campaign (预热) is planned"))
    return out


# ------------------------------------------------------- compliance (issue #14)


async def _compliance(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    """Claims in the script and the lineup's product copy (广告法 absolute terms, medical
    and efficacy claims, price claims, platform rules, the team's own terms): one finding
    per phrase and place, code `compliance_<category>`, blocking for severity block."""
    from app.services import text_learning

    out = []
    for where, f in await text_learning.compliance_findings(session, stream):
        out.append(
            finding(
                f"compliance_{f.category}",
                BLOCK if f.severity == "block" else WARN,
                f"'{f.phrase}' ({f.category}) in {where}: {f.rule}",
                # suggestion and rule by catalogue code: worded in the reader's language
                {
                    "phrase": f.phrase,
                    "where": where,
                    "suggestion": f.suggestion_param(),
                    "rule": f"compliance.rule.{f.rule_code}",
                },
                rule=f.rule,
                rule_code=f.rule_code,
                category=f.category,
            )
        )
    return out
