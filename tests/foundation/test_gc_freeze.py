"""A server freezes what its start-up made (GC_FREEZE, on by default; tests turn it
off): a full garbage collection then no longer scans the ~235,000 start-up objects
(routes, models, the text model), which cost ~300 ms of CPU per full collection on a
loaded machine, several times during a flash sale's burst (BENCHMARKS.md, connector
path)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from app.main import create_app
from app.migrate import upgrade
from tests.conftest import make_settings


async def test_a_server_freezes_its_start_up_and_tests_do_not(tmp_path: Path) -> None:
    assert make_settings(tmp_path).gc_freeze is False  # tests keep collecting everything
    settings = make_settings(tmp_path, gc_freeze=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    app = create_app(settings)
    assert gc.get_freeze_count() == 0
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 50_000
            young = len(gc.get_objects())  # what a full collection still scans
            assert young < gc.get_freeze_count() / 5
    finally:
        gc.unfreeze()  # the test process's later garbage must stay collectable
