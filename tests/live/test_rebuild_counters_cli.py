"""`controlroom rebuild-counters STREAM_ID`: wiped Redis counters come back from the log."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.config import Settings
from tests.conftest import REDIS_URL
from tests.live.helpers import add_product, live_of, live_stream, send
from tests.live.test_counters_agree import _comparable, _random_events

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_cli(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.resolved_database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": settings.redis_prefix,
        "DATA_DIR": str(tmp_path / "cli-data"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_rebuild_counters_from_the_log_after_redis_lost_them(
    committed_app: FastAPI, tmp_path: Path
) -> None:
    transport = httpx.ASGITransport(app=committed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, key, _ = await live_stream(committed_app, client)
        pids = [
            await add_product(committed_app, stream_id, f"RB-{stream_id}-{i}", 50) for i in range(2)
        ]
        events = _random_events(random.Random(7), pids, 12_000)
        for i in range(0, len(events), 1000):
            r = await send(client, stream_id, key, events[i : i + 1000])
            assert r.status_code == 202, r.text
    counters = live_of(committed_app).counters
    before = await counters.read(stream_id)
    minutes_before = await counters.minutes(stream_id)
    assert before.totals["comments"] > 0 and before.totals["gmv"] > 0

    await counters.reset(stream_id)  # Redis lost the stream's counters
    assert (await counters.read(stream_id)).totals["comments"] == 0

    settings: Settings = committed_app.state.settings
    result = await asyncio.to_thread(
        run_cli, settings, tmp_path, "rebuild-counters", str(stream_id)
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"rebuilt stream {stream_id} from" in result.stdout
    assert _comparable(await counters.read(stream_id)) == _comparable(before)
    assert await counters.minutes(stream_id) == minutes_before


def test_rebuild_counters_without_redis_says_why(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(PROJECT_ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "rebuild-counters", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr
