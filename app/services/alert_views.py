"""Alerts as GET /streams/{id}/alerts answers them (worded in a language, with the
product's name in `params`): the route and the websocket snapshot's `alerts` part both
build them here, so a console can seed its alerts query with the part."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import Lang, localize
from app.models import Alert, Product
from app.schemas.alerts import AlertOut


async def alert_views(session: AsyncSession, rows: Sequence[Alert], lang: Lang) -> list[AlertOut]:
    ids = {a.data.get("product_id") for a in rows} - {None}
    names = dict(
        (await session.execute(select(Product.id, Product.name).where(Product.id.in_(ids)))).all()
        if ids
        else []
    )
    out = []
    for a in rows:
        row = AlertOut.model_validate(a)
        params = dict(a.data)
        if "product_id" in params:
            params["product"] = names.get(params["product_id"], f"#{params['product_id']}")
        code = f"alert.{a.kind}"
        text = localize(code, params, lang)
        out.append(
            row.model_copy(update={"code": code, "params": params, "message": text or a.message})
        )
    return out
