"""Revocation that reaches open consoles.

Requests check the user's token version on every call (app/deps.py), but a console's
websocket was authorized once, when it opened. Each process keeps the list of its open
staff sockets here, and one task re-checks them all every `CHECK_SECONDS` with two
queries (the users, then their team roles): a disabled or deleted user, a token whose
version was bumped (role or password change, logout) closes with 4401; a user removed
from the stream's team, or whose role there changed (the console would show the wrong
role's view), closes with 4403. The task runs only while this process has staff sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select, tuple_

from app.models import Role, TeamMember, User
from app.realtime.protocol import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED

log = structlog.get_logger(__name__)

CHECK_SECONDS = 2.0
_BATCH = 500


@dataclass(eq=False, slots=True)  # one per open staff console: no __dict__ each
class StaffSocket:
    user_id: int
    stream_id: int
    token_version: int
    role: str  # the role the console was opened with
    close: Callable[[int, str], None]


class StaffSockets:
    def __init__(self, sessionmaker: Callable[[], Any]) -> None:
        self._sessionmaker = sessionmaker  # called at check time (tests swap it)
        self.sockets: set[StaffSocket] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, sock: StaffSocket) -> None:
        self.sockets.add(sock)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def discard(self, sock: StaffSocket) -> None:
        self.sockets.discard(sock)

    async def _loop(self) -> None:
        while self.sockets:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("revocation_check_failed")

    async def check(self) -> int:
        """Close the sockets whose authorization no longer holds; returns how many."""
        sockets = list(self.sockets)
        closed = 0
        for start in range(0, len(sockets), _BATCH):
            closed += await self._check(sockets[start : start + _BATCH])
        return closed

    async def _check(self, sockets: list[StaffSocket]) -> int:
        user_ids = {s.user_id for s in sockets}
        pairs = {(s.user_id, s.stream_id) for s in sockets}
        async with self._sessionmaker()() as session:
            users = {
                row.id: row
                for row in await session.execute(
                    select(User.id, User.is_active, User.token_version, User.role).where(
                        User.id.in_(user_ids)
                    )
                )
            }
            team = {
                (row.user_id, row.stream_id): row.role
                for row in await session.execute(
                    select(TeamMember.user_id, TeamMember.stream_id, TeamMember.role).where(
                        tuple_(TeamMember.user_id, TeamMember.stream_id).in_(pairs)
                    )
                )
            }
        closed = 0
        for sock in sockets:
            user = users.get(sock.user_id)
            verdict: tuple[int, str] | None = None
            if user is None or not user.is_active or user.token_version != sock.token_version:
                verdict = (CLOSE_UNAUTHORIZED, "token revoked; sign in again")
            else:
                role = team.get((user.id, sock.stream_id))
                if user.role == Role.admin:
                    role = Role.admin
                if role is None:
                    verdict = (CLOSE_FORBIDDEN, "you are no longer on this stream's team")
                elif str(role) != sock.role:
                    verdict = (CLOSE_FORBIDDEN, "your role on this stream changed; reconnect")
            if verdict is not None:
                self.sockets.discard(sock)
                with contextlib.suppress(Exception):
                    sock.close(*verdict)
                closed += 1
        return closed


def staff_sockets(app: Any) -> StaffSockets:
    """The app's registry of open staff sockets, made on first use."""
    registry: StaffSockets | None = getattr(app.state, "staff_sockets", None)
    if registry is None:
        registry = StaffSockets(lambda: app.state.sessionmaker)
        app.state.staff_sockets = registry
    return registry
