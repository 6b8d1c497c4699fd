"""The live websockets: staff consoles and the viewers' watch page (see protocol.py).

`/ws/streams/{id}` and `/ws/streams/{id}/watch` are answered by `LiveSockets`, an ASGI
middleware in front of FastAPI's routing: a console stays connected for hours, and
whatever frames sit between the server and its handler live as long as it does. Through
FastAPI's router, route and dependency machinery (three exit stacks, exception
wrappers, the scope copies) that was ~10 KiB per idle console, a quarter of its memory
(BENCHMARKS.md, fan-out). The handlers themselves are ordinary Starlette `WebSocket`
code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.deps import authorize_stream, stream_role, user_from_token, viewer_from_token
from app.errors import AppError, Forbidden, NotFound, Unauthorized
from app.models import Stream, StreamStatus
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
from app.realtime.state import LiveServices, parse_position
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
        if scope["type"] == "websocket":
            path = scope["path"]
            match = _CONSOLE.match(path)
            handler = console_socket
            if match is None:
                match = _WATCH.match(path)
                handler = watch_socket
            if match is not None:
                await self._guarded(handler, WebSocket(scope, receive, send), int(match[1]))
                return
        await self.app(scope, receive, send)

    async def _guarded(self, handler: Any, websocket: WebSocket, stream_id: int) -> None:
        """Per-address limits and the handshake timeout (app/realtime/guard.py): the
        socket counts as unauthenticated until the handler calls `passed(websocket)`
        (token, user and stream checked); a check that takes longer than
        HANDSHAKE_TIMEOUT_SECONDS is cut short with 4408. The snapshot that follows is
        not timed: in a reconnect storm it may wait, and cutting it would only make the
        console come back and ask again."""
        client = websocket.scope.get("client")
        ip = str(client[0]) if client else ""
        token = websocket.query_params.get("token") or ""
        secret = websocket.app.state.settings.secret_key
        signed = bool(token) and any(decode_token(secret, token, k) for k in ("access", "viewer"))
        if not self.guard.admit(ip, signed):
            await websocket.close(CLOSE_POLICY)  # before accept: HTTP 403, no work done
            return
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
        websocket.scope[PASSED_KEY] = _passed
        try:
            await handler(websocket, stream_id)
        except WebSocketDisconnect:
            pass  # the client left during its handshake: nothing to answer
        except asyncio.CancelledError:
            if not state["timed_out"] or task.uncancel() != 0:
                raise
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    if websocket.client_state == WebSocketState.CONNECTING:
                        await websocket.close(CLOSE_POLICY)
                    else:
                        await websocket.close(CLOSE_SLOW, "handshake timeout")
        finally:
            timer.cancel()
            if not state["passed"]:
                self.guard.done(ip, False)


def passed(websocket: WebSocket) -> None:
    """A handler's socket is authenticated (see `_guarded`)."""
    hook = websocket.scope.get(PASSED_KEY)
    if hook is not None:
        hook()


async def console_socket(websocket: WebSocket, stream_id: int) -> None:
    """Staff console feed: `/ws/streams/{id}?token=<access_token>[&since=<epoch>:<seq>]`.

    Closes 4401 for a missing/invalid token, 4403 for a stream or role the user may not see.
    """
    token = websocket.query_params.get("token")
    since = websocket.query_params.get("since")
    await websocket.accept()
    app = websocket.app
    live: LiveServices = app.state.live
    async with app.state.sessionmaker() as session:
        try:
            user = await user_from_token(session, app.state.settings, token)
            stream = await authorize_stream(session, user, stream_id)
            role = await stream_role(session, user, stream_id)
        except Unauthorized as exc:
            await websocket.close(CLOSE_UNAUTHORIZED, str(exc.detail))
            return
        except (Forbidden, NotFound) as exc:
            await websocket.close(CLOSE_FORBIDDEN, str(exc.detail))
            return
        assert role is not None
        ctx = SnapshotContext(session, live, stream, str(role), user_id=user.id)
        passed(websocket)
        conn = await _start(websocket, live, ctx, parse_position(since))
    if conn is not None:
        # Re-checked every few seconds: revocation closes it (app/realtime/revocation.py).
        watched = StaffSocket(user.id, stream_id, user.token_version, str(role), conn.shutdown)
        registry = staff_sockets(app)
        registry.add(watched)
        try:
            await _serve(live, conn)
        finally:
            registry.discard(watched)


async def watch_socket(websocket: WebSocket, stream_id: int) -> None:
    """Watch-page feed, `/ws/streams/{id}/watch?token=<viewer token>[&since=<epoch>:<seq>]`:
    public events and public metrics only."""
    token = websocket.query_params.get("token")
    since = websocket.query_params.get("since")
    await websocket.accept()
    app = websocket.app
    live: LiveServices = app.state.live
    try:
        viewer = viewer_from_token(app.state.settings, token, stream_id)
    except AppError as exc:
        code = CLOSE_UNAUTHORIZED if isinstance(exc, Unauthorized) else CLOSE_FORBIDDEN
        await websocket.close(code, str(exc.detail))
        return
    async with app.state.sessionmaker() as session:
        stream = await session.get(Stream, stream_id)
        if stream is None or stream.status == StreamStatus.draft:  # a draft is not public
            await websocket.close(CLOSE_FORBIDDEN, "stream not found")
            return
        ctx = SnapshotContext(session, live, stream, VIEWER, viewer_id=viewer.viewer_id)
        passed(websocket)
        conn = await _start(websocket, live, ctx, parse_position(since))
    if conn is not None:
        await _serve(live, conn)


async def _start(
    websocket: WebSocket,
    live: LiveServices,
    ctx: SnapshotContext,
    since: tuple[str, int] | None,
) -> Connection | None:
    """Attach to the hub first (so nothing published meanwhile is missed), then send
    the snapshot and any missed events; live events at a position already covered are
    skipped by the connection. A `since` of another epoch (the counter restarted) or
    beyond the history gets `resumed: false`: the snapshot is the console's new base."""
    assert live.hub is not None
    conn = Connection(websocket, ctx.stream.id, ctx.audience)
    await live.hub.attach(conn)
    try:
        sid = ctx.stream.id
        epoch, seq = await live.position(sid)
        key = (sid, ctx.audience, epoch, seq)
        if live.hub.snapshot_pending(key):
            # It will wait for another console's build: give its database connection
            # back meanwhile (a storm must not hold the pool); what it loaded stays.
            ctx.session.expunge_all()
            await ctx.session.rollback()
        wires, shared = await live.hub.snapshot(key, lambda: build_snapshot(ctx, seq, epoch))
        missed = None
        if since is not None and since[0] == epoch:
            missed = await live.history_since(sid, since[0], since[1])
        await websocket.send(wires[missed is not None])
        conn.epoch, conn.last_seq = epoch, seq
        if shared:  # built before this console attached: give it the latest figures
            latest = live.hub.latest_metrics(sid, ctx.audience)
            if latest is not None:
                conn.push_metrics(latest)
        for raw in missed or ():
            msg = orjson.loads(raw)
            msg_seq = int(msg["seq"])
            if visible_to(msg.get("roles"), ctx.audience):
                await websocket.send(prepare(raw))
            conn.last_seq = max(conn.last_seq, msg_seq)
        conn.start()
    except BaseException:  # a failure, or the handshake timeout's cancellation
        await live.hub.detach(conn)
        raise
    return conn


async def _serve(live: LiveServices, conn: Connection) -> None:
    assert live.hub is not None
    try:
        await conn.run()
    finally:
        await live.hub.detach(conn)
