"""Campaigns: one GMV target split over several streams (GMV目标拆分到每个场次).

The parts live on the streams (`Stream.target_gmv`, `Stream.campaign_id`); a split is
always replaced as a whole and must add up to the campaign's target exactly.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Unprocessable
from app.models import Campaign, Role, Stream, StreamMinute, StreamStatus, User
from app.schemas.campaigns import CampaignIn, CampaignOut, CampaignUpdate, PartOut, SplitPart
from app.services.access import authorize_stream
from app.services.stream_rows import get_or_404

ZERO = Decimal("0.00")


async def _parts(session: AsyncSession, campaign_id: int) -> list[Stream]:
    rows = await session.scalars(
        select(Stream).where(Stream.campaign_id == campaign_id).order_by(Stream.id)
    )
    return list(rows.all())


async def _actual_gmv(session: AsyncSession, stream_ids: list[int]) -> dict[int, Decimal]:
    """GMV so far per stream (paid, before refunds): the sum of its per-minute rollup,
    the figure the review shows once the projection has folded the log."""
    if not stream_ids:
        return {}
    rows = await session.execute(
        select(StreamMinute.stream_id, func.sum(StreamMinute.gmv))
        .where(StreamMinute.stream_id.in_(stream_ids))
        .group_by(StreamMinute.stream_id)
    )
    return {sid: Decimal(total or 0).quantize(ZERO) for sid, total in rows.all()}


async def campaign_out(session: AsyncSession, campaign: Campaign) -> CampaignOut:
    parts = await _parts(session, campaign.id)
    actual = await _actual_gmv(
        session, [s.id for s in parts if s.status != StreamStatus.draft and s.started_at]
    )
    allocated = sum((s.target_gmv or ZERO for s in parts), ZERO)
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        gmv_target=campaign.gmv_target,
        description=campaign.description,
        allocated=allocated,
        unallocated=campaign.gmv_target - allocated,
        parts=[
            PartOut(
                stream_id=s.id,
                title=s.title,
                status=s.status.value,
                scheduled_start=s.scheduled_start,
                gmv_target=s.target_gmv,
                gmv_actual=actual.get(s.id, ZERO) if s.started_at else None,
            )
            for s in parts
        ],
        created_at=campaign.created_at,
    )


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    return await get_or_404(session, Campaign, campaign_id, "campaign")


async def list_campaigns(session: AsyncSession) -> list[Campaign]:
    return list((await session.scalars(select(Campaign).order_by(Campaign.id.desc()))).all())


async def create_campaign(session: AsyncSession, data: CampaignIn, user: User) -> Campaign:
    campaign = Campaign(
        name=data.name,
        gmv_target=data.gmv_target,
        description=data.description,
        created_by=user.id,
    )
    if data.split:
        await _validate_split(session, None, data.split, data.gmv_target, user)
    session.add(campaign)
    await session.flush()
    if data.split:
        await _apply_split(session, campaign, data.split)
    return campaign


async def update_campaign(
    session: AsyncSession, campaign_id: int, data: CampaignUpdate
) -> Campaign:
    campaign = await get_campaign(session, campaign_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Unprocessable("name cannot be null", code="field_required", field="name")
    for name, value in changes.items():
        setattr(campaign, name, "" if value is None else value)
    await session.flush()
    return campaign


async def _validate_split(
    session: AsyncSession,
    campaign_id: int | None,
    parts: list[SplitPart],
    target: Decimal,
    user: User,
) -> list[Stream]:
    ids = [p.stream_id for p in parts]
    if len(set(ids)) != len(ids):
        raise Unprocessable("a stream appears twice in the split", code="duplicate_stream")
    total = sum((p.gmv_target for p in parts), ZERO)
    if total != target:
        raise Unprocessable(
            f"the parts add up to {total:.2f}, not the campaign target {target:.2f}",
            code="split_mismatch",
            total=f"{total:.2f}",
            gmv_target=f"{target:.2f}",
        )
    # Lock the streams, so a concurrent split cannot claim them at the same time.
    await session.execute(
        select(Stream.id).where(Stream.id.in_(ids)).order_by(Stream.id).with_for_update()
    )
    streams = []
    for part in parts:
        # Planning a stream's target is a controller's job on that stream's team.
        stream = await authorize_stream(session, user, part.stream_id, frozenset({Role.controller}))
        await session.refresh(stream)  # read campaign_id after the lock
        if stream.campaign_id is not None and stream.campaign_id != campaign_id:
            raise Conflict(
                f"stream {stream.id} already belongs to campaign {stream.campaign_id}",
                code="stream_in_other_campaign",
                stream_id=stream.id,
            )
        if stream.status == StreamStatus.archived:
            raise Conflict(f"stream {stream.id} is archived", code="stream_closed")
        streams.append(stream)
    return streams


async def _apply_split(session: AsyncSession, campaign: Campaign, parts: list[SplitPart]) -> None:
    wanted = {p.stream_id: p.gmv_target for p in parts}
    for stream in await _parts(session, campaign.id):
        if stream.id not in wanted:
            stream.campaign_id = None  # left the campaign; keeps its own target
    for stream_id, target in wanted.items():
        member = await session.get(Stream, stream_id)
        assert member is not None  # validated above
        member.campaign_id = campaign.id
        member.target_gmv = target
    await session.flush()


async def set_split(
    session: AsyncSession,
    campaign_id: int,
    parts: list[SplitPart],
    gmv_target: Decimal | None,
    user: User,
) -> Campaign:
    campaign = await get_campaign(session, campaign_id)
    target = campaign.gmv_target if gmv_target is None else gmv_target
    await _validate_split(session, campaign.id, parts, target, user)
    campaign.gmv_target = target
    await _apply_split(session, campaign, parts)
    return campaign
