"""The live websockets: staff consoles and the viewers' watch page (see protocol.py).

`/ws/streams/{id}` and `/ws/streams/{id}/watch` are answered by `LiveSockets`, the first
layer of the app's middleware stack (app/main.py): a console stays connected for hours,
and whatever frames sit between the server and its handler live as long as it does.
Through FastAPI's router, route and dependency machinery (three exit stacks, exception
wrappers, the scope copies) that was ~10 KiB per idle console; the other middlewares'
frames, the open's own (guard, token check, snapshot) and the request's headers are not
kept either (issue 15: ≤ 20 KiB per idle console, BENCHMARKS.md). The handlers
themselves are ordinary Starlette `WebSocket` code.

A reconnect storm (issue 15): consoles opening together share the database check of
their right to open the stream (`staff_access`, `public_stream_check`) and the snapshot
(`Hub.snapshot`), and read the stream's position once per round trip (`Hub.position`);
a console that shares opens no database session.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.deps import authorize_stream, stream_role, user_from_token, viewer_from_token
from app.errors import AppError, Forbidden, NotFound, Unauthorized
from app.models import Stream, StreamStatus
from app.realtime import opening
from app.realtime.guard import UpgradeGuard
from app.realtime.hub import Connection
from app.realtime.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_POLICY,
    CLOSE_SLOW,
    CLOSE_UNAUTHORIZED,
    HANDSHAKE_TIMEOUT_SECONDS,
    VIEWER,
    prepare,
    visible_to,
)
from app.realtime.revocation import StaffSocket, staff_sockets
from app.realtime.snapshot import SnapshotContext, build_snapshot
from app.realtime.state import Live, parse_position
from app.security import decode_token

_CONSOLE = re.compile(r"^/ws/streams/([1-9][0-9]{0,17})$")
PASSED_KEY = "lcr.passed"  # scope key: the guard's "authenticated" callback
_WATCH = re.compile(r"^/ws/streams/([1-9][0-9]{0,17})/watch$")


class LiveSockets:
    """Answer the two live websocket paths before FastAPI's routing (see the module doc);
    everything else goes on untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.guard = UpgradeGuard()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or (route := _route(scope["path"])) is None:
            await self.app(scope, receive, send)
            return
        # Open the console (`_guarded`), then read from it until it goes away. The frames
        # of the open (token, user, snapshot) are gone by then: an idle console keeps only
        # this frame, its Connection's and uvicorn's (issue 15: memory per console).
        websocket = WebSocket(scope, receive, send)
        conn = await self._guarded(route[0], websocket, route[1])
        opening.opened(scope)  # open (snapshot written) or refused: the next console's turn
        if conn is None:
            return
        # What only the open needed (the request's headers, the token in the query)
        # is not kept for the hours a console stays.
        scope["headers"] = []
        scope["query_string"] = b""
        live: Live = websocket.app.state.live
        assert live.hub is not None
        try:
            await conn.run()
        finally:
            if conn.staff is not None:
                staff_sockets(websocket.app).discard(conn.staff)
            await live.hub.detach(conn)

    async def _guarded(
        self, handler: Handler, websocket: WebSocket, stream_id: int
    ) -> Connection | None:
        """Per-address limits and the handshake timeout (app/realtime/guard.py): the
        socket counts as unauthenticated until the handler calls `passed(websocket)`
        (token, user and stream checked); a check that takes longer than
        HANDSHAKE_TIMEOUT_SECONDS is cut short with 4408. The snapshot that follows is
        not timed: in a reconnect storm it may wait, and cutting it would only make the
        console come back and ask again."""
        scope = websocket.scope
        client = scope.get("client")
        ip = str(client[0]) if client else ""
        query = _query(scope)
        token = query.get("token") or ""
        secret = websocket.app.state.settings.secret_key
        signed = bool(token) and any(decode_token(secret, token, k) for k in ("access", "viewer"))
        if not self.guard.admit(ip, signed):
            await websocket.close(CLOSE_POLICY)  # before accept: HTTP 403, no work done
            return None
        task = asyncio.current_task()
        assert task is not None
        state = {"passed": False, "timed_out": False}

        def _passed() -> None:
            if not state["passed"]:
                state["passed"] = True
                timer.cancel()
                self.guard.done(ip, True)

        def _too_slow() -> None:
            if not state["passed"]:
                state["timed_out"] = True
                task.cancel()

        timer = asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT_SECONDS, _too_slow)
        scope[PASSED_KEY] = _passed
        try:
            conn: Connection | None = await handler(
                websocket, stream_id, query.get("token"), query.get("since")
            )
            return conn
        except WebSocketDisconnect:
            return None  # the client left during its handshake: nothing to answer
        except asyncio.CancelledError:
            if not state["timed_out"] or task.uncancel() != 0:
                raise
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    if websocket.client_state == WebSocketState.CONNECTING:
                        await websocket.close(CLOSE_POLICY)
                    else:
                        await websocket.close(CLOSE_SLOW, "handshake timeout")
            return None
        finally:
            timer.cancel()
            scope.pop(PASSED_KEY, None)
            if not state["passed"]:
                self.guard.done(ip, False)


Handler = Callable[[WebSocket, int, str | None, str | None], Awaitable["Connection | None"]]


def _route(path: str) -> tuple[Handler, int] | None:
    match = _CONSOLE.match(path)
    if match is not None:
        return console_socket, int(match[1])
    match = _WATCH.match(path)
    if match is not None:
        return watch_socket, int(match[1])
    return None


def _query(scope: Scope) -> dict[str, str]:
    """The query string's parameters (the last of each name), parsed without leaving
    a copy on the socket for its lifetime (Starlette's `query_params` is cached)."""
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def passed(websocket: WebSocket) -> None:
    """A handler's socket is authenticated (see `_guarded`)."""
    hook = websocket.scope.get(PASSED_KEY)
    if hook is not None:
        hook()


@dataclass(frozen=True, slots=True)
class StaffAccess:
    """A staff console's right to open a stream, as the database said it."""

    user_id: int
    token_version: int
    role: str


async def staff_access(app: Any, live: Live, token: str | None, stream_id: int) -> StaffAccess:
    """Token, user and role check of a staff console: Unauthorized/Forbidden/NotFound as
    for a request. The token's signature is checked here; the database check is shared
    by the consoles of the same user, token version and stream opening together
    (`Hub.access`, SHARE_SECONDS): a reconnect storm does not open a session each."""
    if not token:
        raise Unauthorized("missing bearer token")
    claims = decode_token(app.state.settings.secret_key, token, "access")
    if claims is None:
        raise Unauthorized("invalid or expired token")
    key = ("staff", claims.get("sub"), claims.get("ver", 0), stream_id)

    async def _check() -> StaffAccess:
        async with app.state.sessionmaker() as session:
            user = await user_from_token(session, app.state.settings, token)
            await authorize_stream(session, user, stream_id)
            role = await stream_role(session, user, stream_id)
            assert role is not None
            return StaffAccess(user.id, user.token_version, str(role))

    assert live.hub is not None
    access: StaffAccess = (await live.hub.access.get(key, _check))[0]
    return access


async def public_stream_check(app: Any, live: Live, stream_id: int) -> None:
    """The watch page may open the stream (it exists and is not a draft), else
    Forbidden; shared like `staff_access`."""

    async def _check() -> bool:
        async with app.state.sessionmaker() as session:
            status = await session.scalar(select(Stream.status).where(Stream.id == stream_id))
        if status is None or status == StreamStatus.draft:  # a draft is not public
            raise Forbidden("stream not found", code="stream_not_found")
        return True

    assert live.hub is not None
    await live.hub.access.get(("watch", stream_id), _check)


async def console_socket(
    websocket: WebSocket, stream_id: int, token: str | None, since: str | None
) -> Connection | None:
    """Staff console feed: `/ws/streams/{id}?token=<access_token>[&since=<epoch>:<seq>]`.

    Closes 4401 for a missing/invalid token, 4403 for a stream or role the user may not see.
    """
    await websocket.accept()
    app = websocket.app
    live: Live = app.state.live
    try:
        access = await staff_access(app, live, token, stream_id)
    except Unauthorized as exc:
        await websocket.close(CLOSE_UNAUTHORIZED, str(exc.detail))
        return None
    except (Forbidden, NotFound) as exc:
        await websocket.close(CLOSE_FORBIDDEN, str(exc.detail))
        return None
    passed(websocket)
    conn = await _start(websocket, app, live, stream_id, access.role, parse_position(since))
    if conn is not None:
        # Re-checked every few seconds: revocation closes it (app/realtime/revocation.py).
        conn.staff = StaffSocket(
            access.user_id, stream_id, access.token_version, access.role, conn.shutdown
        )
        staff_sockets(app).add(conn.staff)
    return conn


async def watch_socket(
    websocket: WebSocket, stream_id: int, token: str | None, since: str | None
) -> Connection | None:
    """Watch-page feed, `/ws/streams/{id}/watch?token=<viewer token>[&since=<epoch>:<seq>]`:
    public events and public metrics only."""
    await websocket.accept()
    app = websocket.app
    live: Live = app.state.live
    try:
        viewer_from_token(app.state.settings, token, stream_id)
        await public_stream_check(app, live, stream_id)
    except AppError as exc:
        code = CLOSE_UNAUTHORIZED if isinstance(exc, Unauthorized) else CLOSE_FORBIDDEN
        await websocket.close(code, str(exc.detail))
        return None
    passed(websocket)
    return await _start(websocket, app, live, stream_id, VIEWER, parse_position(since))


async def _build_snapshot(
    app: Any, live: Live, stream_id: int, audience: str, epoch: str, seq: int
) -> dict[str, Any]:
    """One snapshot for every console of this audience at (epoch, seq): built in a
    session of its own, which the consoles that share it never open."""
    async with app.state.sessionmaker() as session:
        stream = await session.get(Stream, stream_id)
        if stream is None:
            raise Forbidden("stream not found", code="stream_not_found")
        return await build_snapshot(SnapshotContext(session, live, stream, audience), seq, epoch)


async def _start(
    websocket: WebSocket,
    app: Any,
    live: Live,
    stream_id: int,
    audience: str,
    since: tuple[str, int] | None,
) -> Connection | None:
    """Attach to the hub first (so nothing published meanwhile is missed), then send
    the snapshot and any missed events; live events at a position already covered are
    skipped by the connection. A `since` of another epoch (the counter restarted) or
    beyond the history gets `resumed: false`: the snapshot is the console's new base."""
    assert live.hub is not None
    conn = Connection(websocket, stream_id, audience)
    await live.hub.attach(conn)
    try:
        epoch, seq = await live.hub.position(stream_id)
        wires, shared = await live.hub.snapshot(
            (stream_id, audience, epoch, seq),
            lambda: _build_snapshot(app, live, stream_id, audience, epoch, seq),
        )
        missed: list[bytes] | None = None
        if since == (epoch, seq):  # nothing missed (the usual reconnect after a blip)
            missed = []
        elif since is not None and since[0] == epoch:
            missed = await live.history_since(stream_id, since[0], since[1])
        await websocket.send(wires[missed is not None])
        conn.epoch, conn.last_seq = epoch, seq
        if shared:  # built before this console attached: give it the latest figures
            latest = live.hub.latest_metrics(stream_id, audience)
            if latest is not None:
                conn.push_metrics(latest)
        for raw in missed or ():
            msg = orjson.loads(raw)
            msg_seq = int(msg["seq"])
            if visible_to(msg.get("roles"), audience):
                await websocket.send(prepare(raw))
            conn.last_seq = max(conn.last_seq, msg_seq)
        conn.start()
    except Forbidden as exc:  # the stream went away meanwhile
        await live.hub.detach(conn)
        await websocket.close(CLOSE_FORBIDDEN, str(exc.detail))
        return None
    except BaseException:  # a failure, or the handshake timeout's cancellation
        await live.hub.detach(conn)
        raise
    return conn
