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

import re

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.deps import authorize_stream, stream_role, user_from_token, viewer_from_token
from app.errors import AppError, Forbidden, NotFound, Unauthorized
from app.models import Stream, StreamStatus
from app.realtime.hub import Connection
from app.realtime.protocol import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, VIEWER, prepare, visible_to
from app.realtime.revocation import StaffSocket, staff_sockets
from app.realtime.snapshot import SnapshotContext, build_snapshot
from app.realtime.state import LiveServices, parse_position

_CONSOLE = re.compile(r"^/ws/streams/([1-9][0-9]{0,17})$")
_WATCH = re.compile(r"^/ws/streams/([1-9][0-9]{0,17})/watch$")


class LiveSockets:
    """Answer the two live websocket paths before FastAPI's routing (see the module doc);
    everything else goes on untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path = scope["path"]
            match = _CONSOLE.match(path)
            if match is not None:
                await console_socket(WebSocket(scope, receive, send), int(match[1]))
                return
            match = _WATCH.match(path)
            if match is not None:
                await watch_socket(WebSocket(scope, receive, send), int(match[1]))
                return
        await self.app(scope, receive, send)


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
        epoch, seq = await live.position(ctx.stream.id)
        snapshot = await build_snapshot(ctx, seq, epoch)
        missed = None
        if since is not None and since[0] == epoch:
            missed = await live.history_since(ctx.stream.id, since[0], since[1])
        snapshot["resumed"] = missed is not None
        await websocket.send(prepare(snapshot))
        conn.epoch, conn.last_seq = epoch, seq
        for raw in missed or ():
            msg = orjson.loads(raw)
            msg_seq = int(msg["seq"])
            if visible_to(msg.get("roles"), ctx.audience):
                await websocket.send(prepare(raw))
            conn.last_seq = max(conn.last_seq, msg_seq)
        conn.start()
    except Exception:
        await live.hub.detach(conn)
        raise
    return conn


async def _serve(live: LiveServices, conn: Connection) -> None:
    assert live.hub is not None
    try:
        await conn.run()
    finally:
        await live.hub.detach(conn)
