"""What several routers share: the stream authorized for a set of team roles; downloads.

Each alias is the stream of `/streams/{stream_id}/...`, loaded and checked by
`stream_access` (404 `stream_not_found`, 403 `not_on_team` / `role_forbidden`); an admin
always passes. The name lists the team roles that may call the endpoint, so a handler's
signature says who it is for. The order of the roles changes nothing (a set is checked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from app.deps import stream_access
from app.models import Role, Stream
from app.services import exports
from app.services.rate_limit import RateLimiter

TeamStream = Annotated[Stream, Depends(stream_access())]
"""Any member of the stream's team."""

ControllerStream = Annotated[Stream, Depends(stream_access(Role.controller))]
ControllerHostStream = Annotated[Stream, Depends(stream_access(Role.controller, Role.host))]
ControllerServiceStream = Annotated[Stream, Depends(stream_access(Role.controller, Role.service))]
AnalystControllerStream = Annotated[Stream, Depends(stream_access(Role.analyst, Role.controller))]
AnalystControllerHostStream = Annotated[
    Stream, Depends(stream_access(Role.analyst, Role.controller, Role.host))
]
AnalystControllerServiceStream = Annotated[
    Stream, Depends(stream_access(Role.analyst, Role.controller, Role.service))
]


FormatQuery = Annotated[str, Query(pattern="^(csv|xlsx)$", description="csv or xlsx")]
"""The `format` query parameter of a download."""


def attachment(
    fmt: str, sections: Sequence[tuple[str, list[str], list[list[Any]]]], filename: str
) -> Response:
    """A download of `sections` rendered as `fmt`, named `filename.fmt`."""
    return Response(
        content=exports.render(fmt, sections),
        media_type=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def download_responses() -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of a download: a 200 in any of the export formats."""
    return {200: {"content": {media_type: {} for media_type in exports.FORMATS.values()}}}


def rate_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter, made on first use."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter(state.live.limits, state.live.prefix)
        state.rate_limiter = limiter
    return limiter
