"""The post-stream review (复盘): metric dictionary, review meeting, highlights."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.deps import CurrentUser, SessionDep, UowDep
from app.errors import JSONBody
from app.models.review import ReviewAction
from app.routers._common import (
    AnalystControllerHostStream,
    AnalystControllerServiceStream,
    AnalystControllerStream,
    FormatQuery,
    TeamStream,
    attachment,
    download_responses,
)
from app.schemas.review import (
    ActionIn,
    ActionOut,
    ActionPatch,
    AudienceOut,
    CarryOverAction,
    CarryOverOut,
    FindingIn,
    FindingOut,
    HighlightIn,
    HighlightOut,
    MetricOut,
    SegmentCount,
    ViewerSegmentsOut,
)
from app.services import exports, metric_dictionary, review_report
from app.services import review_meeting as review_service
from app.services import viewer_segments as viewer_segments_service

router = APIRouter(prefix="/api/v1", tags=["review"])

# Analysts run the review; controllers take part; hosts may read it.
# Highlight markers are set by the same roles that read the review.
ReaderStream = AnalystControllerHostStream
EditorStream = AnalystControllerStream

_READ = " Allowed: admin, or the stream's analyst, controller or host."
_WRITE = " Allowed: admin, or the stream's analyst or controller."


def _action_out(action: ReviewAction) -> ActionOut:
    out = ActionOut.model_validate(action)
    out.overdue = review_service.is_overdue(action)
    return out


@router.get(
    "/metrics/dictionary",
    response_model=list[MetricOut],
    summary="The metric dictionary: every review figure and its formula",
    description=(
        "Each figure of `GET /streams/{id}/review` with its unit and the formula used, so "
        "the numbers can be checked by hand. Any signed-in staff user. Also in docs/metrics.md."
    ),
)
async def get_dictionary(_: CurrentUser) -> object:
    return metric_dictionary.dictionary()


# ----------------------------------------------------------------------------- findings


@router.post(
    "/streams/{stream_id}/review/findings",
    response_model=FindingOut,
    status_code=201,
    summary="Record a finding of the review meeting",
    description="A finding (went_well / problem / idea), optionally citing a diagnosis code."
    + _WRITE,
)
async def add_finding(
    body: FindingIn, stream: EditorStream, session: SessionDep, user: CurrentUser
) -> object:
    return await review_service.add_finding(session, stream, body, user)


@router.get(
    "/streams/{stream_id}/review/findings",
    response_model=list[FindingOut],
    summary="The review meeting's findings",
    description="In the order they were recorded." + _READ,
)
async def list_findings(stream: ReaderStream, session: SessionDep) -> object:
    return await review_service.list_findings(session, stream.id)


@router.delete(
    "/streams/{stream_id}/review/findings/{finding_id}",
    status_code=204,
    summary="Delete a finding",
    description="Actions citing it keep existing without the link." + _WRITE,
)
async def delete_finding(finding_id: int, stream: EditorStream, session: SessionDep) -> Response:
    await review_service.delete_finding(session, stream.id, finding_id)
    return Response(status_code=204)


# ----------------------------------------------------------------------------- actions


@router.post(
    "/streams/{stream_id}/review/actions",
    response_model=ActionOut,
    status_code=201,
    summary="Add an improvement action (owner, due date, status)",
    description=(
        "The owner must be on the stream's team (422 `owner_not_on_team`); `finding_id` must "
        "be a finding of this stream (422 `unknown_finding`)." + _WRITE
    ),
)
async def add_action(
    body: ActionIn, stream: EditorStream, session: SessionDep, user: CurrentUser
) -> ActionOut:
    return _action_out(await review_service.add_action(session, stream, body, user))


@router.get(
    "/streams/{stream_id}/review/actions",
    response_model=list[ActionOut],
    summary="The stream's improvement actions",
    description="With `overdue` true when not done and past the due date." + _READ,
)
async def list_actions(stream: ReaderStream, session: SessionDep) -> list[ActionOut]:
    return [_action_out(a) for a in await review_service.list_actions(session, stream.id)]


@router.patch(
    "/streams/{stream_id}/review/actions/{action_id}",
    response_model=ActionOut,
    summary="Update an action (status open / in_progress / done, owner, due date)",
    description="Moving to `done` stamps `done_at`; moving back clears it." + _WRITE,
)
async def update_action(
    action_id: int, body: ActionPatch, stream: EditorStream, session: SessionDep
) -> ActionOut:
    return _action_out(await review_service.update_action(session, stream, action_id, body))


@router.get(
    "/streams/{stream_id}/review/carry-over",
    response_model=CarryOverOut,
    summary="Open actions from the team's earlier streams (shown when planning this one)",
    description=(
        "Actions not yet done of earlier streams of the same team (same creator, or sharing "
        "a team member), earliest due first. Any member of this stream's team may read it."
    ),
)
async def carry_over(stream: TeamStream, session: SessionDep) -> CarryOverOut:
    rows = await review_service.carry_over(session, stream)
    actions = [
        CarryOverAction.model_validate({**_action_out(a).model_dump(), "stream_title": title})
        for a, title in rows
    ]
    return CarryOverOut(stream_id=stream.id, actions=actions)


# ----------------------------------------------------------------------------- highlights


@router.post(
    "/streams/{stream_id}/highlights",
    response_model=HighlightOut,
    status_code=201,
    summary="Mark a highlight for the clip editors (time and note)",
    description="A manual marker." + _READ,
)
async def add_highlight(
    body: HighlightIn, stream: ReaderStream, session: SessionDep, user: CurrentUser
) -> HighlightOut:
    mark = await review_service.add_highlight(session, stream, body, user)
    return review_service.manual_out(stream, mark)


@router.get(
    "/streams/{stream_id}/highlights",
    response_model=list[HighlightOut],
    summary="Highlight markers: manual ones and automatic GMV / comment peaks",
    description=(
        "Automatic markers are the minutes with the highest GMV and the most comments "
        "(top 3 each, non-zero), computed from the per-minute series; sorted by time." + _READ
    ),
)
async def list_highlights(stream: ReaderStream, uow: UowDep) -> list[HighlightOut]:
    return await review_service.highlights(uow.session, uow.live.comment_counts, stream)


@router.delete(
    "/streams/{stream_id}/highlights/{highlight_id}",
    status_code=204,
    summary="Delete a manual highlight marker",
    description=_READ,
)
async def delete_highlight(
    highlight_id: int, stream: ReaderStream, session: SessionDep
) -> Response:
    await review_service.delete_highlight(session, stream.id, highlight_id)
    return Response(status_code=204)


# ----------------------------------------------------------------------------- report


@router.get(
    "/streams/{stream_id}/review",
    summary="The post-stream review report (复盘报告)",
    description=(
        "Computed from persisted data (the event log's rollups, kept as the stream runs): "
        "audience (viewers, entries, peak/average online, watch time, interaction rate, "
        "转粉率), sales (gmv paid before refunds, refunds, net GMV, orders, paid orders, "
        "units, paying customers, AOV, GPM, refund rate), the funnel viewers → "
        "product_clicks → add_to_cart → orders → paid_orders overall and per product, the "
        "per-minute series, traffic sources, new vs returning viewers, targets vs actuals, "
        "per script segment and per explanation window figures (events attributed by the "
        "second they happened in), top questions and complaints from the service queue "
        "with the comments' sentiment, incidents and alerts on a timeline, rule-based "
        "diagnoses with their evidence, and the median of the team's "
        "last `compare_last` ended streams. Every formula: `GET /api/v1/metrics/dictionary`."
        + _READ
    ),
    response_class=JSONBody,
)
async def get_review(
    stream: ReaderStream,
    uow: UowDep,
    compare_last: Annotated[int, Query(ge=1, le=20)] = review_report.COMPARE_LAST,
) -> JSONBody:
    report = await review_report.build_review(
        uow.session, uow.live.comment_counts, stream, compare_last=compare_last
    )
    return JSONBody(report)


@router.get(
    "/streams/{stream_id}/audience",
    response_model=AudienceOut,
    summary="Live traffic sources and average stay (the control console's audience figures)",
    description=(
        "While the stream runs (or after): unique viewers, the average stay (watch time "
        "so far, open sessions up to now, ÷ viewers) and viewers per traffic source with "
        "their share — the review's definitions (docs/metrics.md) from the same rollups, "
        "which follow the event log within a second or two." + _READ
    ),
)
async def get_audience(stream: ReaderStream, session: SessionDep) -> AudienceOut:
    return AudienceOut.model_validate(await review_report.live_audience(session, stream))


@router.get(
    "/streams/{stream_id}/review/export",
    summary="Download the review report as CSV or XLSX",
    description=(
        "XLSX: one sheet per part (Summary, Funnel, Products, Minutes, Segments, "
        "Explanations, Targets, Diagnoses, Traffic, Questions, Sentiment, Timeline, "
        "Comparison). CSV: the same parts one after the other, each introduced by a "
        "`# name` line (UTF-8 with BOM)." + _READ
    ),
    response_class=Response,
    responses=download_responses(),
)
async def export_review(stream: ReaderStream, uow: UowDep, format: FormatQuery = "csv") -> Response:
    report = await review_report.build_review(uow.session, uow.live.comment_counts, stream)
    return attachment(format, exports.report_sections(report), f"review-{stream.id}")


# ----------------------------------------------------------------------------- segments

SegmentStream = AnalystControllerServiceStream
HighValueQuery = Annotated[
    Decimal,
    Query(ge=0, le=100_000_000, decimal_places=2, description="Paid amount for `high_value`"),
]
_SEGMENT_ROLES = " Allowed: admin, or the stream's analyst, controller or service."


@router.get(
    "/streams/{stream_id}/viewer-segments",
    response_model=ViewerSegmentsOut,
    summary="Viewer tags and segment sizes (newcomer, buyer, repeat buyer, …)",
    description=(
        "Rule-based tags over the persisted per-viewer figures; `rules` states each rule. "
        "`asked_about:<topic>` for viewers who asked a question classified under that topic."
        + _SEGMENT_ROLES
    ),
)
async def viewer_segments(
    stream: SegmentStream,
    uow: UowDep,
    high_value_min: HighValueQuery = viewer_segments_service.HIGH_VALUE_MIN,
) -> ViewerSegmentsOut:
    viewers = await viewer_segments_service.tag_viewers(
        uow.session, uow.live.comment_counts, stream, high_value_min
    )
    return ViewerSegmentsOut(
        stream_id=stream.id,
        viewers=len(viewers),
        rules=viewer_segments_service.TAG_RULES,
        segments=[
            SegmentCount(tag=c["tag"], viewers=c["viewers"])
            for c in viewer_segments_service.segment_counts(viewers)
        ],
    )


@router.get(
    "/streams/{stream_id}/viewer-segments/{tag}/export",
    summary="Export one segment's viewers as CSV or XLSX (private-domain follow-up)",
    description=(
        "One row per viewer in the segment with their tags and figures, for community "
        "operations (newcomer coupon, offer to watchers who did not buy, member perks) and "
        "customer-care visits. Unknown segment → 404 `unknown_segment`." + _SEGMENT_ROLES
    ),
    response_class=Response,
    responses=download_responses(),
)
async def export_segment(
    tag: str,
    stream: SegmentStream,
    uow: UowDep,
    format: FormatQuery = "csv",
    high_value_min: HighValueQuery = viewer_segments_service.HIGH_VALUE_MIN,
) -> Response:
    viewers = await viewer_segments_service.tag_viewers(
        uow.session, uow.live.comment_counts, stream, high_value_min
    )
    chosen = viewer_segments_service.members(viewers, tag)
    columns = list(viewer_segments_service.EXPORT_COLUMNS)
    rows = [[exports.cell(tv.row()[c]) for c in columns] for tv in chosen]
    safe = "".join(ch if ch.isalnum() else "-" for ch in tag)
    sheet = (tag.replace(":", "-")[:31], columns, rows)
    return attachment(format, [sheet], f"segment-{stream.id}-{safe}")
