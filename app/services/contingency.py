"""Contingency plans (应急预案): for each scenario, the steps and who owns them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Unprocessable
from app.models import ContingencyPlan, Role, Stream, TeamMember, User
from app.schemas.contingency import ContingencyIn, ContingencyUpdate
from app.services.planning import ensure_plannable
from app.services.stream_rows import get_in_stream


async def plans(session: AsyncSession, stream_id: int) -> list[ContingencyPlan]:
    rows = await session.scalars(
        select(ContingencyPlan)
        .where(ContingencyPlan.stream_id == stream_id)
        .order_by(ContingencyPlan.id)
    )
    return list(rows.all())


async def _check_owner(session: AsyncSession, stream_id: int, owner_id: int) -> None:
    """The owner must be able to act on the stream: on its team, or an admin."""
    user = await session.get(User, owner_id)
    on_team = await session.scalar(
        select(TeamMember.id).where(
            TeamMember.stream_id == stream_id, TeamMember.user_id == owner_id
        )
    )
    if user is None or (on_team is None and user.role != Role.admin):
        raise Unprocessable(
            f"owner {owner_id} is not on the stream's team", code="owner_not_on_team"
        )


async def add_plan(session: AsyncSession, stream: Stream, data: ContingencyIn) -> ContingencyPlan:
    ensure_plannable(stream)
    if data.owner_id is not None:
        await _check_owner(session, stream.id, data.owner_id)
    plan = ContingencyPlan(stream_id=stream.id, **data.model_dump())
    session.add(plan)
    await session.flush()
    return plan


async def get_plan(session: AsyncSession, stream_id: int, plan_id: int) -> ContingencyPlan:
    return await get_in_stream(session, ContingencyPlan, stream_id, plan_id, "plan")


async def update_plan(
    session: AsyncSession, stream: Stream, plan_id: int, data: ContingencyUpdate
) -> ContingencyPlan:
    ensure_plannable(stream)
    plan = await get_plan(session, stream.id, plan_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("scenario", "title", "steps"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null", code="field_required", field=name)
    if changes.get("owner_id") is not None:
        await _check_owner(session, stream.id, changes["owner_id"])
    for name, value in changes.items():
        setattr(plan, name, value)
    await session.flush()
    return plan


async def delete_plan(session: AsyncSession, stream: Stream, plan_id: int) -> None:
    ensure_plannable(stream)
    await session.delete(await get_plan(session, stream.id, plan_id))
    await session.flush()
