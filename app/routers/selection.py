"""Product selection (选品): weights, scores and the ranked list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.deps import SessionDep, require_roles
from app.models import Role, User
from app.schemas.selection import RankedProduct, ScoreOut, ScoresIn, WeightsIn, WeightsOut
from app.services import selection as selection_service

router = APIRouter(prefix="/api/v1", tags=["selection"])

Planner = Annotated[User, Depends(require_roles(Role.controller))]
Reader = Annotated[
    User, Depends(require_roles(Role.controller, Role.host, Role.service, Role.analyst))
]


@router.get(
    "/selection/weights",
    response_model=WeightsOut,
    summary="Weights of the selection criteria (staff)",
    description="Criteria never configured weigh 1.",
)
async def get_weights(session: SessionDep, _: Reader) -> object:
    return {"weights": await selection_service.weights(session)}


@router.put(
    "/selection/weights",
    response_model=WeightsOut,
    summary="Set criterion weights (admin, controller)",
    description="Only the criteria sent change. 422 `bad_weight` outside 0–100, 422 "
    "`all_weights_zero` if nothing would weigh anything.",
)
async def set_weights(body: WeightsIn, session: SessionDep, _: Planner) -> object:
    return {"weights": await selection_service.set_weights(session, body.weights)}


@router.get(
    "/selection/ranking",
    response_model=list[RankedProduct],
    summary="Products ranked by weighted score (staff)",
    description="Score = Σ weight × score ÷ Σ weight over all criteria (unscored count 0). "
    "QC-failed and unlicensed (三无) products are flagged `eligible: false`, or left out "
    "with `eligible_only=true`.",
)
async def ranking(
    session: SessionDep,
    _: Reader,
    category: Annotated[str | None, Query(max_length=64)] = None,
    eligible_only: bool = False,
) -> object:
    return await selection_service.ranking(session, category, eligible_only)


@router.get(
    "/products/{product_id}/scores",
    response_model=list[ScoreOut],
    summary="A product's selection scores (staff)",
)
async def get_scores(product_id: int, session: SessionDep, _: Reader) -> object:
    return await selection_service.scores(session, product_id)


@router.put(
    "/products/{product_id}/scores",
    response_model=list[ScoreOut],
    summary="Score a product on some criteria, 0–10 (admin, controller)",
    description="Only the criteria sent change. 422 `bad_score` outside 0–10.",
)
async def set_scores(product_id: int, body: ScoresIn, session: SessionDep, user: Planner) -> object:
    return await selection_service.set_scores(session, product_id, body.scores, body.note, user)
