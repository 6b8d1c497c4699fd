"""The review meeting (复盘会): findings, improvement actions, carry-over, highlights."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Unprocessable
from app.models import Role, Stream, TeamMember, User
from app.models.events import StreamMinute
from app.models.review import ActionStatus, Highlight, ReviewAction, ReviewFinding
from app.realtime.ports import CommentCounts
from app.schemas.common import format_money
from app.schemas.review import ActionIn, ActionPatch, FindingIn, HighlightIn, HighlightOut
from app.services.stream_rows import delete_in_stream, get_in_stream, list_in_stream

# ----------------------------------------------------------------------------- team


async def team_stream_ids(session: AsyncSession, stream: Stream) -> list[int]:
    """Other streams of the same team: same creator, or sharing a non-admin team member.

    A team is not an entity of its own (a stream has a team of members), so "the same
    team" is read from who plans and runs the streams.
    """
    members = select(TeamMember.user_id).where(TeamMember.stream_id == stream.id)
    shared = (
        select(TeamMember.stream_id)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.user_id.in_(members), User.role != Role.admin)
    )
    conds: list[ColumnElement[bool]] = [Stream.id.in_(shared)]
    if stream.created_by is not None:
        conds.append(Stream.created_by == stream.created_by)
    # Rehearsals (彩排) are never the team's other streams: their figures stay apart.
    rows = await session.scalars(
        select(Stream.id)
        .where(Stream.id != stream.id, or_(*conds), Stream.is_rehearsal.is_(False))
        .order_by(Stream.id)
    )
    return list(rows)


async def _require_team_user(session: AsyncSession, stream_id: int, user_id: int) -> None:
    user = await session.get(User, user_id)
    if user is None:
        raise Unprocessable(f"user {user_id} does not exist", code="unknown_owner")
    if user.role == Role.admin:
        return
    member = await session.scalar(
        select(TeamMember.id).where(
            TeamMember.stream_id == stream_id, TeamMember.user_id == user_id
        )
    )
    if member is None:
        raise Unprocessable(
            f"user {user_id} is not on this stream's team", code="owner_not_on_team"
        )


R = TypeVar("R", ReviewFinding, ReviewAction, Highlight)


async def _add(
    session: AsyncSession,
    model: type[R],
    stream: Stream,
    user: User,
    data: BaseModel,
    now: datetime | None = None,
    **more: Any,
) -> R:
    """A new row of the stream with the fields of `data` (named as the columns) and `more`,
    stamped with who added it and when (`now`, default the current time); flushed, so it
    has its id."""
    row = model(
        **data.model_dump(),
        **more,
        stream_id=stream.id,
        created_by=user.id,
        created_at=now or utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


# ----------------------------------------------------------------------------- findings


async def add_finding(
    session: AsyncSession, stream: Stream, data: FindingIn, user: User
) -> ReviewFinding:
    return await _add(session, ReviewFinding, stream, user, data)


async def list_findings(session: AsyncSession, stream_id: int) -> list[ReviewFinding]:
    return await list_in_stream(session, ReviewFinding, stream_id, ReviewFinding.id)


async def delete_finding(session: AsyncSession, stream_id: int, finding_id: int) -> None:
    await delete_in_stream(session, ReviewFinding, stream_id, finding_id, "finding")


# ----------------------------------------------------------------------------- actions


def is_overdue(action: ReviewAction, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return (
        action.status != ActionStatus.done
        and action.due_date is not None
        and action.due_date < today
    )


async def add_action(
    session: AsyncSession, stream: Stream, data: ActionIn, user: User
) -> ReviewAction:
    if data.owner_id is not None:
        await _require_team_user(session, stream.id, data.owner_id)
    if data.finding_id is not None:
        finding = await session.get(ReviewFinding, data.finding_id)
        if finding is None or finding.stream_id != stream.id:
            raise Unprocessable(
                f"finding {data.finding_id} is not a finding of this stream",
                code="unknown_finding",
            )
    now = utcnow()
    done_at = now if data.status == ActionStatus.done else None
    return await _add(
        session, ReviewAction, stream, user, data, now, updated_at=now, done_at=done_at
    )


async def list_actions(session: AsyncSession, stream_id: int) -> list[ReviewAction]:
    return await list_in_stream(session, ReviewAction, stream_id, ReviewAction.id)


async def get_action(session: AsyncSession, stream_id: int, action_id: int) -> ReviewAction:
    return await get_in_stream(session, ReviewAction, stream_id, action_id, "action")


async def update_action(
    session: AsyncSession, stream: Stream, action_id: int, data: ActionPatch
) -> ReviewAction:
    action = await get_action(session, stream.id, action_id)
    fields = data.model_fields_set
    if "owner_id" in fields and data.owner_id is not None:
        await _require_team_user(session, stream.id, data.owner_id)
    for name in ("title", "detail"):
        if name in fields:
            value = getattr(data, name)
            if value is None:
                raise Unprocessable(f"{name} cannot be null", code="validation_error")
            setattr(action, name, value)
    if "owner_id" in fields:
        action.owner_id = data.owner_id
    if "due_date" in fields:
        action.due_date = data.due_date
    if "status" in fields:
        if data.status is None:
            raise Unprocessable("status cannot be null", code="validation_error")
        if data.status != action.status:
            action.done_at = utcnow() if data.status == ActionStatus.done else None
        action.status = data.status
    action.updated_at = utcnow()
    await session.flush()
    return action


async def carry_over(session: AsyncSession, stream: Stream) -> list[tuple[ReviewAction, str]]:
    """Actions not done from the team's earlier streams (created before this one)."""
    earlier = [sid for sid in await team_stream_ids(session, stream) if sid < stream.id]
    if not earlier:
        return []
    rows = await session.execute(
        select(ReviewAction, Stream.title)
        .join(Stream, Stream.id == ReviewAction.stream_id)
        .where(
            ReviewAction.stream_id.in_(earlier),
            ReviewAction.status != ActionStatus.done,
        )
        .order_by(ReviewAction.due_date.is_(None), ReviewAction.due_date, ReviewAction.id)
    )
    return [(action, title) for action, title in rows.all()]


# ----------------------------------------------------------------------------- highlights


async def add_highlight(
    session: AsyncSession, stream: Stream, data: HighlightIn, user: User
) -> Highlight:
    return await _add(session, Highlight, stream, user, data)


async def manual_highlights(session: AsyncSession, stream_id: int) -> list[Highlight]:
    return await list_in_stream(session, Highlight, stream_id, Highlight.at, Highlight.id)


async def delete_highlight(session: AsyncSession, stream_id: int, highlight_id: int) -> None:
    await delete_in_stream(session, Highlight, stream_id, highlight_id, "highlight")


def offset_seconds(stream: Stream, at: datetime) -> int | None:
    if stream.started_at is None:
        return None
    return int((at - stream.started_at).total_seconds())


def manual_out(stream: Stream, mark: Highlight) -> HighlightOut:
    return HighlightOut(
        id=mark.id,
        kind="manual",
        at=mark.at,
        offset_seconds=offset_seconds(stream, mark.at),
        duration_seconds=mark.duration_seconds,
        note=mark.note,
        created_by=mark.created_by,
    )


async def highlights(
    session: AsyncSession, counts: CommentCounts, stream: Stream
) -> list[HighlightOut]:
    """Manual markers and automatic peaks, by time."""
    from app.services.projection import catch_up

    await catch_up(session, counts, stream.id)
    marks = [manual_out(stream, m) for m in await manual_highlights(session, stream.id)]
    marks += await minute_peaks(session, stream)
    return sorted(marks, key=lambda h: (h.at, h.kind))


async def minute_peaks(session: AsyncSession, stream: Stream, top: int = 3) -> list[HighlightOut]:
    """The minutes with the highest GMV and the most comments (non-zero), top `top` each."""
    m = StreamMinute
    gmv_rows = await session.execute(
        select(m.minute, m.gmv)
        .where(m.stream_id == stream.id, m.gmv > 0)
        .order_by(m.gmv.desc(), m.minute)
        .limit(top)
    )
    comment_rows = await session.execute(
        select(m.minute, m.comments)
        .where(m.stream_id == stream.id, m.comments > 0)
        .order_by(m.comments.desc(), m.minute)
        .limit(top)
    )

    def inside(minute: datetime) -> datetime:
        """A peak minute's start, never before the stream started (minutes are whole:
        the first one may begin a few seconds before `started_at`)."""
        return max(minute, stream.started_at) if stream.started_at else minute

    def peak(kind: str, minute: datetime, note: str, value: str) -> HighlightOut:
        at = inside(minute)
        return HighlightOut(
            id=None,
            kind=kind,
            at=at,
            offset_seconds=offset_seconds(stream, at),
            duration_seconds=60,
            note=note,
            value=value,
        )

    out = [
        peak("gmv_peak", minute, f"GMV peak: {format_money(gmv)} in this minute", format_money(gmv))
        for minute, gmv in gmv_rows
    ]
    out += [
        peak("comment_peak", minute, f"Comment peak: {n} comments in this minute", str(n))
        for minute, n in comment_rows
    ]
    return out
