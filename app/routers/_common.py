"""What several routers share: the stream authorized for a set of team roles; downloads.

Each alias is the stream of `/streams/{stream_id}/...`, loaded and checked by
`stream_access` (404 `stream_not_found`, 403 `not_on_team` / `role_forbidden`); an admin
always passes. The name lists the team roles that may call the endpoint, so a handler's
signature says who it is for. The order of the roles changes nothing (a set is checked).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from app.deps import stream_access
from app.models import Role, Stream
from app.services import exports

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


def download_responses() -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of a download: a 200 in any of the export formats."""
    return {200: {"content": {media_type: {} for media_type in exports.FORMATS.values()}}}
