"""Lucky-bag lotteries (福袋): start, draw, and check the draw."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.deps import CurrentUser, SessionDep, stream_access
from app.errors import Conflict
from app.models import LotteryStatus, Role, Stream
from app.schemas.lottery import EligibleOut, LotteryIn, LotteryOut, LotteryVerifyOut
from app.services import lottery as lottery_service

router = APIRouter(prefix="/api/v1/streams", tags=["lotteries"])

ControllerStream = Annotated[Stream, Depends(stream_access(Role.controller))]
TeamStream = Annotated[Stream, Depends(stream_access())]


@router.post(
    "/{stream_id}/lotteries",
    response_model=LotteryOut,
    status_code=201,
    summary="Start a lottery (福袋) — controller",
    description=(
        "Prize, number of winners, condition (`comment` with a `keyword`, "
        "`follow`, or `present`) and the draw time (`draw_at` or `duration_seconds`). "
        "A purchase condition is refused (422). The stream must be live (409 "
        "`stream_not_live`). The answer and the `lottery.started` event carry "
        "`seed_hash`, the commitment to the seed that will decide the draw. It is drawn "
        "automatically at `draw_at`. " + lottery_service.ALGORITHM
    ),
)
async def create_lottery(
    body: LotteryIn, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    lottery = await lottery_service.create_lottery(
        session,
        stream,
        user,
        prize=body.prize,
        winners_count=body.winners_count,
        condition=body.condition,
        keyword=body.keyword,
        draw_at=body.resolved_draw_at(),
    )
    return lottery_service.public_view(lottery)


@router.get(
    "/{stream_id}/lotteries",
    response_model=list[LotteryOut],
    summary="The stream's lotteries, newest first — team",
)
async def list_lotteries(stream: TeamStream, session: SessionDep) -> list[dict[str, Any]]:
    lotteries = await lottery_service.list_lotteries(session, stream.id)
    return [lottery_service.public_view(x) for x in lotteries]


@router.get(
    "/{stream_id}/lotteries/{lottery_id}",
    response_model=LotteryOut,
    summary="One lottery — team",
)
async def get_lottery(lottery_id: int, stream: TeamStream, session: SessionDep) -> dict[str, Any]:
    return lottery_service.public_view(
        await lottery_service.get_lottery(session, stream.id, lottery_id)
    )


@router.post(
    "/{stream_id}/lotteries/{lottery_id}/draw",
    response_model=LotteryOut,
    summary="Draw now (开奖) — controller",
    description=(
        "Draws at once (the draw time becomes now if it was later). Runs once: if the "
        "lottery was already drawn (by the scheduler or another instance) the existing "
        "result is returned unchanged. A cancelled lottery is 409. Pushes `lottery.drawn`."
    ),
)
async def draw_lottery(
    lottery_id: int, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    lottery, _ = await lottery_service.draw(session, stream.id, lottery_id, user, early=True)
    return lottery_service.public_view(lottery)


@router.post(
    "/{stream_id}/lotteries/{lottery_id}/cancel",
    response_model=LotteryOut,
    summary="Cancel an open lottery — controller",
)
async def cancel_lottery(
    lottery_id: int, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    return lottery_service.public_view(
        await lottery_service.cancel(session, stream.id, lottery_id, user)
    )


@router.get(
    "/{stream_id}/lotteries/{lottery_id}/verify",
    response_model=LotteryVerifyOut,
    summary="Recompute a drawn lottery from its seed and eligible list (public)",
    description=(
        "No authentication: anyone may check a draw. Verifies that sha256(seed) is the "
        "commitment published at the start, that the eligible list matches its hash, and "
        "that the winners follow from seed and list. 409 `not_drawn` before the draw. "
        + lottery_service.ALGORITHM
    ),
)
async def verify_lottery(stream_id: int, lottery_id: int, session: SessionDep) -> dict[str, Any]:
    lottery = await lottery_service.get_lottery(session, stream_id, lottery_id)
    return await lottery_service.verify(session, lottery)


@router.get(
    "/{stream_id}/lotteries/{lottery_id}/eligible",
    response_model=EligibleOut,
    summary="Download the frozen eligible list of a drawn lottery (public)",
)
async def eligible_list(stream_id: int, lottery_id: int, session: SessionDep) -> EligibleOut:
    lottery = await lottery_service.get_lottery(session, stream_id, lottery_id)
    if lottery.status != LotteryStatus.drawn:
        raise Conflict("the lottery has not been drawn yet", code="not_drawn")
    return EligibleOut(
        lottery_id=lottery.id,
        eligible_hash=lottery.eligible_hash,
        viewer_ids=await lottery_service.eligible_list(session, lottery),
    )
