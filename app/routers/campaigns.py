"""Campaigns: a GMV target split over several streams."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require_roles
from app.models import Role, User
from app.schemas.campaigns import CampaignIn, CampaignOut, CampaignUpdate, SplitIn
from app.services import campaigns as campaigns_service

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])

Planner = Annotated[User, Depends(require_roles(Role.controller))]
Reader = Annotated[User, Depends(require_roles(Role.controller, Role.analyst))]


@router.post(
    "",
    response_model=CampaignOut,
    status_code=201,
    summary="Create a campaign with a GMV target, optionally split (admin, controller)",
    description="If `split` is given its parts must add up to `gmv_target` exactly (422 "
    "`split_mismatch`), and the caller must be a controller on each stream's team.",
)
async def create_campaign(body: CampaignIn, session: SessionDep, user: Planner) -> object:
    campaign = await campaigns_service.create_campaign(session, body, user)
    return await campaigns_service.campaign_out(session, campaign)


@router.get(
    "",
    response_model=list[CampaignOut],
    summary="Campaigns with their splits (admin, controller, analyst)",
)
async def list_campaigns(session: SessionDep, _: Reader) -> object:
    return [
        await campaigns_service.campaign_out(session, c)
        for c in await campaigns_service.list_campaigns(session)
    ]


@router.get(
    "/{campaign_id}",
    response_model=CampaignOut,
    summary="One campaign and its split (admin, controller, analyst)",
)
async def get_campaign(campaign_id: int, session: SessionDep, _: Reader) -> object:
    campaign = await campaigns_service.get_campaign(session, campaign_id)
    return await campaigns_service.campaign_out(session, campaign)


@router.patch(
    "/{campaign_id}",
    response_model=CampaignOut,
    summary="Rename or describe a campaign (admin, controller)",
    description="The target changes only together with its split: `PUT .../split`.",
)
async def update_campaign(
    campaign_id: int, body: CampaignUpdate, session: SessionDep, _: Planner
) -> object:
    campaign = await campaigns_service.update_campaign(session, campaign_id, body)
    return await campaigns_service.campaign_out(session, campaign)


@router.put(
    "/{campaign_id}/split",
    response_model=CampaignOut,
    summary="Replace the split of the GMV target over streams (admin, controller)",
    description="`parts` lists every stream of the campaign with its GMV target; they must "
    "add up to the campaign target (or to `gmv_target` when given, which then becomes the "
    "target). Streams left out leave the campaign. Each part sets the stream's "
    "`target_gmv`. 422 `split_mismatch` / `duplicate_stream`, 409 "
    "`stream_in_other_campaign`, 403 for a stream where the caller is not controller.",
)
async def set_split(campaign_id: int, body: SplitIn, session: SessionDep, user: Planner) -> object:
    campaign = await campaigns_service.set_split(
        session, campaign_id, body.parts, body.gmv_target, user
    )
    return await campaigns_service.campaign_out(session, campaign)
