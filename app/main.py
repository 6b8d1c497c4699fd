"""The FastAPI application: lifespan wiring, routers, error handlers, static consoles."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp

from app import __version__
from app.bounds import bound_int_params
from app.config import Settings, get_settings
from app.db import create_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.observability import RequestContextMiddleware, configure_logging, install_gc_metrics
from app.openapi_errors import document_error_bodies
from app.realtime.availability import (
    LiveStoreGate,
    RedisWatchdog,
    install_redis_unavailable_handler,
)
from app.realtime.hub import Hub
from app.realtime.outbox import OutboxRelay
from app.realtime.state import build_live
from app.realtime.ticker import Ticker
from app.routers import (
    aftersales,
    alerts,
    auth,
    campaigns,
    checklist,
    comments,
    contingency,
    controls,
    coupons,
    flash_sales,
    health,
    ingest,
    inventory,
    lineup,
    lottery,
    orders,
    products,
    queue,
    review,
    script,
    selection,
    storefront,
    streams,
    users,
    viewers,
    warmup,
    watch_comments,
)
from app.routers import connectors as connectors_router  # issue 18: connecting a platform
from app.routers import rehearsals as rehearsals_router  # issue 18
from app.routers import text_learning as text_learning_router  # issue 14
from app.routers import webhooks as webhooks_router  # issue 18
from app.routers.live import LiveSockets
from app.routers.order_fast_path import OrderFastPath
from app.security_middleware import SecurityMiddleware
from app.services import flash_sales as flash_sales_service
from app.services.ingest import restore_counters
from app.services.lottery import LotteryScheduler
from app.services.projection import ProjectionWorker
from app.services.rehearsals import Replays
from app.services.snapshot_parts import SNAPSHOT_PARTS
from app.services.stock_alerts import StockAlertWorker
from app.services.stock_resync import start_stock_watch, stop_stock_watch
from app.services.users import bootstrap_admin
from app.services.webhooks import WebhookDispatcher, dispatch_settings, install_session_hooks

log = structlog.get_logger(__name__)

API_DESCRIPTION = """
Live Control Room (直播中控台): plan a live-selling stream, run it from three live
consoles (host teleprompter, field controller, customer-service queue) fed by a
websocket, and review it afterwards.

Staff endpoints take `Authorization: Bearer <access_token>` from `POST /api/v1/auth/login`.
Errors are JSON: `{"detail": ..., "code": "<machine-readable>"}`. Money is a decimal
string with two places; times are RFC 3339 with a zone.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_secret_key()
        engine = create_engine(
            settings.resolved_database_url,
            settings.db_pool_size,
            settings.db_pool_timeout or (120.0 if settings.is_sqlite else 30.0),
        )
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.live = await build_live(settings)
        app.state.live.workers.snapshot_parts = SNAPSHOT_PARTS
        install_session_hooks()  # committed events become webhook deliveries (issue 18)
        # Captured here: tests swap app.state.sessionmaker for their own transaction.
        flash_ticker = flash_sales_service.start_ticker(
            make_sessionmaker(engine), app.state.live, settings.flash_sale_tick_seconds
        )
        app.state.live.workers.hub = Hub(
            app.state.live,
            # Read the sessionmaker at tick time: tests swap it after start-up.
            lambda hub, stream_id: Ticker(
                hub, stream_id, app.state.sessionmaker, settings.metrics_hz
            ),
        )
        # Issue 15: events committed but not published (a crash, Redis away) are
        # published from the outbox by every instance.
        outbox_relay = OutboxRelay(make_sessionmaker(engine), app.state.live)
        outbox_relay.start()
        # Issue 15: Redis away → 503 on the selling paths; back → repaired, then open.
        redis_watchdog = None
        if app.state.live.redis is not None:
            redis_watchdog = RedisWatchdog(app.state.live, make_sessionmaker(engine), settings)
            redis_watchdog.start()
        app.state.redis_watchdog = redis_watchdog
        await restore_counters(app.state.live, app.state.sessionmaker)
        projection = ProjectionWorker(make_sessionmaker(engine), app.state.live)
        app.state.live.workers.projection = projection
        projection.start()
        stock_watch = start_stock_watch(make_sessionmaker(engine), app.state.live, settings)
        stock_alerts = StockAlertWorker(make_sessionmaker(engine), app.state.live)
        app.state.live.workers.stock_alerts = stock_alerts
        stock_alerts.start()
        generated = None
        try:
            async with app.state.sessionmaker() as session:
                generated = await bootstrap_admin(session, settings)
                await session.commit()
        except IntegrityError:
            pass  # another worker created the admin at the same moment
        if generated:
            print(
                "\n  ==============================================================\n"
                f"  First start: sign in as  admin  with password  {generated}\n"
                "  (shown once; set ADMIN_PASSWORD to choose it yourself)\n"
                "  ==============================================================\n",
                flush=True,
            )
        log.info("started", database=engine.url.render_as_string(hide_password=True))
        # Draws lotteries when due; safe to run in every instance (the draw is claimed).
        lottery_scheduler = LotteryScheduler(make_sessionmaker(engine), app.state.live)
        lottery_scheduler.start()
        # Connecting a platform (issue 18): delivers outbound webhooks.
        webhook_dispatcher = WebhookDispatcher(
            make_sessionmaker(engine), dispatch_settings(settings)
        )
        app.state.webhook_dispatcher = webhook_dispatcher
        webhook_dispatcher.start()
        # Rehearsal replays (issue 18): runs and resumes them; several servers share them.
        app.state.replays = Replays(
            make_sessionmaker(engine),
            app.state.live,
            lease=settings.replay_lease_seconds,
            poll=settings.replay_poll_seconds,
        )
        app.state.replays.start_worker()
        if settings.gc_freeze:
            # What start-up built lives as long as the process: keep it out of the
            # cyclic collector's full passes (they scanned it all, mid-request).
            gc.collect()
            gc.freeze()
        install_gc_metrics()
        try:
            yield
        finally:
            await app.state.replays.close()
            await webhook_dispatcher.stop()
            await lottery_scheduler.stop()
            await projection.stop()
            await stop_stock_watch(stock_watch)
            await stock_alerts.stop()
            await flash_sales_service.stop_ticker(flash_ticker)
            await outbox_relay.stop()
            if redis_watchdog is not None:
                await redis_watchdog.stop()
            await app.state.live.close()
            await engine.dispose()

    app = FastAPI(
        title="Live Control Room (直播中控台)",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The last added is the outermost. The flash-sale fast path comes before the
    # request-id/metrics middleware and does its work for the refusals it answers
    # itself (same X-Request-ID, log line and Prometheus series): a flash sale's flood
    # of refusals then costs one small function each instead of the whole stack.
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(OrderFastPath)
    # issue 15: the selling paths answer 503 while Redis is away or being repaired.
    app.add_middleware(LiveStoreGate)
    # security (issue #19): headers, body limit, URL control characters; outermost.
    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=settings.max_body_bytes,
        ingest_max_body_bytes=settings.ingest_max_body_bytes,
    )
    install_error_handlers(app)
    install_redis_unavailable_handler(app)  # issue 15
    # The live websockets (consoles, watch page) are answered before any other layer of
    # the stack (Starlette's error middleware, FastAPI's, ours pass websockets through):
    # an idle console then keeps no frame of theirs for hours (issue 15, memory).
    build_stack = app.build_middleware_stack

    def _live_sockets_first() -> ASGIApp:
        return LiveSockets(build_stack())

    app.build_middleware_stack = _live_sockets_first  # type: ignore[method-assign]
    planning = (
        products,
        selection,
        campaigns,
        lineup,
        inventory,
        script,
        checklist,
        contingency,
        warmup,
    )
    # Routers are matched in this order, route by route, and FastAPI's matching costs
    # ~10 µs per route passed over (~2 ms to reach the end of 200 routes). The hot paths
    # of a live stream come first: ingest batches, orders (flash sales), viewer events,
    # the watch page. No path of one router matches another router's route
    # (tests/foundation/test_routes.py), so the order changes nothing else.
    for module in (
        ingest,
        orders,
        viewers,
        storefront,
        watch_comments,  # comments and answers on the watch page
        health,
        auth,
        users,
        streams,
        *planning,
        controls,
        flash_sales,
        coupons,
        review,
        aftersales,
        alerts,
        lottery,
        comments,  # comments, moderation, the classifier
        queue,  # the service queue
        # --- connecting a platform (issue 18)
        webhooks_router,
        connectors_router,
        rehearsals_router,
        # --- corrections and the claims checker (issue 14)
        text_learning_router,
    ):
        # security (issue #19): every integer parameter fits the database (app/bounds.py)
        bound_int_params(module.router)
        app.include_router(module.router)
    _mount_frontend(app, settings.static_dir)
    document_error_bodies(app)  # security (issue #19): the 422 schema as it is
    return app


def _mount_frontend(app: FastAPI, static_dir: Path) -> None:
    """Serve the built consoles; unknown non-API paths fall back to index.html (SPA)."""
    static_dir = static_dir.resolve()
    index = static_dir / "index.html"
    if not index.exists():
        return
    assets = static_dir / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> FileResponse:
        candidate = (static_dir / path).resolve()
        if path and static_dir in candidate.parents and candidate.is_file():
            return FileResponse(candidate)
        if path.startswith(("api/", "ws/")):
            from app.errors import NotFound

            raise NotFound(f"no such path: /{path}")
        return FileResponse(index)
