"""Lucky-bag lotteries (福袋): start, draw, and check the draw."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials

from app.deps import (
    CurrentUser,
    CurrentViewer,
    SessionDep,
    SettingsDep,
    _bearer,
    stream_access,
    stream_role,
    user_from_token,
)
from app.errors import AppError, Conflict
from app.models import LotteryStatus, Role, Stream
from app.schemas.lottery import EligibleOut, LotteryIn, LotteryOut, LotteryVerifyOut, MyEntryOut
from app.services import lottery as lottery_service

router = APIRouter(prefix="/api/v1/streams", tags=["lotteries"])


async def staff_or_public(
    stream_id: int,
    session: SessionDep,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> bool:
    """On the public lottery pages: whether the caller is the stream's staff (raw viewer
    ids) rather than the public (masked ids and entries), issue #19. Never refuses."""
    if creds is None:
        return False
    try:
        user = await user_from_token(session, settings, creds.credentials)
    except AppError:
        return False
    return await stream_role(session, user, stream_id) is not None


StaffOrPublic = Annotated[bool, Depends(staff_or_public)]
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
        "No authentication: anyone may check a draw; winners are masked and the winners' "
        "entries given unless the caller is the stream's staff. Verifies that sha256(seed) is the "
        "commitment published at the start, that the eligible list matches its hash, and "
        "that the winners follow from seed and list. 409 `not_drawn` before the draw. "
        + lottery_service.ALGORITHM
    ),
)
async def verify_lottery(
    stream_id: int, lottery_id: int, session: SessionDep, staff: StaffOrPublic
) -> dict[str, Any]:
    lottery = await lottery_service.get_lottery(session, stream_id, lottery_id)
    return await lottery_service.verify(session, lottery, staff=staff)


@router.get(
    "/{stream_id}/lotteries/{lottery_id}/eligible",
    response_model=EligibleOut,
    summary="Download the frozen eligible list of a drawn lottery (public)",
    description=(
        "Everyone gets the sorted `entries` (each viewer's hex(HMAC-SHA256(seed, id))) and "
        "their hash; the raw `viewer_ids` only the stream's staff (issue #19: platform ids "
        "can hold phone numbers)."
    ),
)
async def eligible_list(
    stream_id: int, lottery_id: int, session: SessionDep, staff: StaffOrPublic
) -> EligibleOut:
    lottery = await lottery_service.get_lottery(session, stream_id, lottery_id)
    if lottery.status != LotteryStatus.drawn:
        raise Conflict("the lottery has not been drawn yet", code="not_drawn")
    ids = await lottery_service.eligible_list(session, lottery)
    entries = sorted(lottery_service.entry_of(lottery.seed, v) for v in ids)
    return EligibleOut(
        lottery_id=lottery.id,
        eligible_hash=lottery.eligible_hash,
        entries=entries,
        entries_hash=lottery_service.entries_hash(entries),
        viewer_ids=ids if staff else None,
    )


@router.get(
    "/{stream_id}/lotteries/{lottery_id}/me",
    response_model=MyEntryOut,
    summary="My entry in a drawn lottery (viewer token)",
    description=(
        "The viewer's own entry (hex(HMAC-SHA256(seed, viewer_id))), whether it is among "
        "the published `entries` (eligible) and whether it won: what the watch page checks "
        "without anyone else's id being published. 409 `not_drawn` before the draw."
    ),
)
async def my_entry(
    stream_id: int, lottery_id: int, session: SessionDep, viewer: CurrentViewer
) -> dict[str, Any]:
    lottery = await lottery_service.get_lottery(session, stream_id, lottery_id)
    return await lottery_service.my_entry(session, lottery, viewer.viewer_id)
