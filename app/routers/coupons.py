"""Coupons (满减): issued by the controller during the stream, claimed by viewers, spent
on an order through `coupon_id`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import CurrentBuyer, CurrentUser, SessionDep, stream_access
from app.errors import BadRequest, Unprocessable
from app.models import Role, Stream
from app.schemas.orders import CouponClaimIn, CouponClaimOut, CouponCreate, CouponOut
from app.services import coupons as coupons_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}", tags=["coupons"])

Controller = Annotated[Stream, Depends(stream_access(Role.controller))]
TeamStream = Annotated[Stream, Depends(stream_access())]


@router.post(
    "/coupons",
    response_model=CouponOut,
    status_code=201,
    summary="Issue a coupon (admin, controller)",
    description="满 `threshold` 减 `amount` (threshold 0: no minimum), `quantity` in all, "
    "`per_user_limit` per viewer, valid from `valid_from` (default now) to `valid_until`. "
    "Announced to every console as `coupon.issued`.",
)
async def issue_coupon(
    body: CouponCreate, stream: Controller, user: CurrentUser, session: SessionDep
) -> object:
    return await coupons_service.issue_coupon(session, stream, body, user)


@router.get("/coupons", response_model=list[CouponOut], summary="The stream's coupons (team)")
async def list_coupons(stream: TeamStream, session: SessionDep) -> object:
    return await coupons_service.list_coupons(session, stream.id)


@router.post(
    "/coupons/{coupon_id}/claim",
    response_model=CouponClaimOut,
    status_code=201,
    summary="Claim a coupon (viewer token, or ingest key with viewer_id)",
    description="409 `coupon_exhausted`, `limit_exceeded`, `coupon_expired`, "
    "`coupon_not_started`; 404 `coupon_not_found`.",
)
async def claim_coupon(
    stream_id: int,
    coupon_id: int,
    buyer: CurrentBuyer,
    session: SessionDep,
    body: CouponClaimIn | None = None,
) -> object:
    viewer_id = _viewer_of(buyer.viewer_id, buyer.is_ingest, body.viewer_id if body else None)
    return await coupons_service.claim_coupon(session, stream_id, coupon_id, viewer_id)


@router.get(
    "/coupon-claims",
    response_model=list[CouponClaimOut],
    summary="The coupons a viewer holds (viewer token, or ingest key with ?viewer_id=)",
)
async def my_claims(
    stream_id: int, buyer: CurrentBuyer, session: SessionDep, viewer_id: str | None = None
) -> object:
    who = _viewer_of(buyer.viewer_id, buyer.is_ingest, viewer_id)
    return await coupons_service.viewer_claims(session, stream_id, who)


def _viewer_of(token_viewer: str | None, is_ingest: bool, named: str | None) -> str:
    if is_ingest:
        if not named:
            raise Unprocessable("viewer_id is required with the ingest key", code="viewer_required")
        return named
    if named is not None and named != token_viewer:
        raise BadRequest(
            "viewer_id may only be sent with the ingest key", code="viewer_id_not_allowed"
        )
    assert token_viewer is not None
    return token_viewer
