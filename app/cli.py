"""`controlroom` command line: serve, migrate, demo, create-user, simulate, the
repairs rebuild-counters and resync-stock, and `connector test` (mappings offline)."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from app.config import get_settings

cli = typer.Typer(help="Live Control Room (直播中控台)", no_args_is_help=True, add_completion=False)


def _migrate() -> None:
    from app.migrate import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


@cli.command()
def migrate() -> None:
    """Apply database migrations (Alembic upgrade to the newest revision)."""
    _migrate()
    typer.echo("database is up to date")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default PORT)")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (needs REDIS_URL if > 1)")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Apply migrations, then serve the API, websockets and consoles with uvicorn."""
    import uvicorn

    from app.realtime import opening

    settings = get_settings()
    if workers > 1 and not settings.redis_url:
        raise typer.BadParameter("several workers share live state only through REDIS_URL")
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter("several workers need PostgreSQL (DATABASE_URL)")
    try:
        settings.ensure_secret_key()  # refuse a placeholder secret before anything starts
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    os.environ.setdefault("SECRET_KEY", settings.secret_key)  # same key in every worker
    _migrate()
    bind = host or settings.host
    shown = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    typer.echo(
        f"\n  Live Control Room is serving on http://{shown}:{port or settings.port}/"
        f"\n  (API docs: http://{shown}:{port or settings.port}/docs; "
        "request logs: LOG_LEVEL=DEBUG)\n"
    )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        loop="uvloop",
        # httptools and websockets' sans-I/O protocol, with console opens taking turns
        # so that a reconnect storm does not starve other requests (issue 15)
        http=opening.HTTP_PROTOCOL,
        ws=opening.WS_PROTOCOL,
        # Console messages are small JSON; compression would cost more CPU than it saves.
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,  # request logs come from the app, at LOG_LEVEL=DEBUG
        proxy_headers=True,
        server_header=False,  # no `server: uvicorn` banner (issue #19)
    )


@cli.command("create-user")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="admin, host, controller, service or analyst")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
) -> None:
    """Create a staff user."""
    from app.models import Role
    from app.schemas.users import UserCreate

    _migrate()
    data = UserCreate(username=username, password=password, role=Role(role))

    async def _run() -> None:
        from app.db import create_engine, make_sessionmaker
        from app.services.users import create_user as _create

        engine = create_engine(get_settings().resolved_database_url)
        async with make_sessionmaker(engine)() as session:
            await _create(session, data)
            await session.commit()
        await engine.dispose()

    asyncio.run(_run())
    typer.echo(f"created {role} '{username}'")


@cli.command()
def demo() -> None:
    """Fill the database with a ready demo stream and team users (passwords printed)."""
    from app.demo import run_demo

    _migrate()
    asyncio.run(run_demo(get_settings()))


@cli.command()
def simulate(
    stream: Annotated[int, typer.Argument(help="The live stream's id")],
    key: Annotated[str, typer.Option(help="The stream's ingest key", envvar="INGEST_KEY")],
    url: Annotated[
        str | None,
        typer.Option(
            help="The running server, e.g. http://127.0.0.1:8000 (default: HOST and PORT)",
            envvar="CONTROLROOM_URL",
        ),
    ] = None,
    viewers: Annotated[int, typer.Option(help="Viewers online at the peak")] = 300,
    rate: Annotated[float, typer.Option(help="Events per second")] = 100.0,
    duration: Annotated[float, typer.Option(help="Seconds to run")] = 60.0,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run")] = None,
    comment_share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Fraction of events that are comments (1.0: a comment flood for load "
            "tests of the service queue); default: the realistic mix",
        ),
    ] = None,
    i_know: Annotated[
        bool,
        typer.Option(
            "--i-know",
            help="Send to a real stream too (its figures then include the simulation); "
            "without it only a rehearsal (彩排) is simulated",
        ),
    ] = False,
) -> None:
    """Simulate a live audience (joins, comments, likes, clicks, carts, orders) via ingest."""
    from app.simulate import SimulationError, require_rehearsal, run_simulation

    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = url or f"http://{host}:{settings.port}"
    try:
        if not i_know:
            asyncio.run(require_rehearsal(base, stream, key))
        summary = asyncio.run(
            run_simulation(
                stream, base, key, viewers, rate, duration, seed=seed, comment_share=comment_share
            )
        )
    except SimulationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(" ".join(f"{k}={v}" for k, v in summary.items()))


def _need_redis() -> None:
    if not get_settings().redis_url:
        typer.echo(
            "error: no REDIS_URL: in embedded mode the live counters and stock live in the "
            "server process (counters are recounted from the log at every start)",
            err=True,
        )
        raise typer.Exit(2)


@cli.command("rebuild-counters")
def rebuild_counters(
    stream: Annotated[int, typer.Argument(help="The stream's id")],
) -> None:
    """Rebuild a stream's live counters in Redis from its durable event log.

    For a Redis that lost or corrupted its data. Best run while the stream receives no
    events: an event without `event_id` logged during the rebuild may count twice.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    _need_redis()

    async def _run() -> tuple[int, dict[str, int]]:
        from app.db import create_engine, make_sessionmaker
        from app.realtime.state import build_live
        from app.services.eventlog import count_logged_events
        from app.services.eventlog import rebuild_counters as _rebuild
        from app.services.webhooks import install_session_hooks

        settings = get_settings()
        engine = create_engine(settings.resolved_database_url, pool_size=2)
        install_session_hooks()
        live = await build_live(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                total = await count_logged_events(session, stream)
                with Progress(
                    TextColumn("[bold]stream {task.fields[stream]}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    transient=False,
                ) as progress:
                    task = progress.add_task("replay", total=total, stream=stream)
                    replayed = await _rebuild(
                        live.counters,
                        session,
                        stream,
                        lambda n: progress.update(task, advance=n),
                    )
            totals = (await live.counters.read(stream)).totals
            return replayed, totals
        finally:
            await live.close()
            await engine.dispose()

    replayed, totals = asyncio.run(_run())
    summary = " ".join(f"{k}={totals[k]}" for k in ("comments", "likes", "orders", "paid_orders"))
    typer.echo(f"rebuilt stream {stream} from {replayed} logged events: {summary}")


@cli.command("resync-stock")
def resync_stock(
    stream: Annotated[int, typer.Argument(help="The stream's id")],
) -> None:
    """Reset the Redis stock mirror of a stream's lineup (and flash sales) from the
    database, e.g. after a crash left units taken in Redis without an order.

    Safe while orders come in: an item with an order in flight is skipped ("busy"; run
    again, or let the server's own check do it), and a mirror that moved meanwhile is
    left alone ("moved"). Exit code 1 if any item was skipped.
    """
    _need_redis()

    async def _run() -> dict[int, str]:
        from app.db import create_engine, make_sessionmaker
        from app.realtime.state import build_live
        from app.services.stock_resync import resync_stream
        from app.services.webhooks import install_session_hooks

        settings = get_settings()
        engine = create_engine(settings.resolved_database_url, pool_size=2)
        install_session_hooks()
        live = await build_live(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                return await resync_stream(session, live, settings, stream)
        finally:
            await live.close()
            await engine.dispose()

    outcomes = asyncio.run(_run())
    for product_id, outcome in outcomes.items():
        typer.echo(f"product {product_id}: {outcome}")
    if not outcomes:
        typer.echo(f"stream {stream} has no lineup")
    if any(o in ("busy", "moved") for o in outcomes.values()):
        raise typer.Exit(1)


# --- connecting a platform (issue 18) ----------------------------------------------

connector_cli = typer.Typer(help="Platform connectors: mappings and their samples.")
cli.add_typer(connector_cli, name="connector")


@connector_cli.command("test")
def connector_test(
    mapping: Annotated[str, typer.Argument(help="A mapping file, or a shipped mapping's name")],
    samples: Annotated[str, typer.Argument(help="A samples JSON file, or a folder of them")],
    show: Annotated[bool, typer.Option(help="Print each sample's events")] = False,
) -> None:
    """Run a mapping over recorded platform payloads offline; exit 1 if any differs."""
    from pathlib import Path

    import orjson

    from app.services.connectors.mapping import MappingError
    from app.services.connectors.offline import load_samples, resolve_mapping, run_samples

    try:
        loaded = resolve_mapping(mapping)
        results = run_samples(loaded, load_samples(Path(samples)))
    except MappingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"mapping {loaded.name} v{loaded.version} ({loaded.platform})")
    for r in results:
        mark = "ok  " if r.ok else "FAIL"
        rule = r.rule or "unmapped"
        typer.echo(f"{mark} {r.name}: {rule}, {len(r.events)} event(s) {r.message}".rstrip())
        if show or not r.ok:
            for ev in r.events:
                typer.echo("       " + orjson.dumps(ev).decode())
    failed = sum(not r.ok for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
