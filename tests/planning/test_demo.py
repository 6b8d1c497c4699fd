"""`controlroom demo` creates a fully planned stream whose readiness is green."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.demo import seed
from app.models import StreamStatus
from app.services import readiness as readiness_service
from tests.conftest import TEST_PASSWORD, bearer, login

ROOT = Path(__file__).resolve().parents[2]


async def test_demo_stream_is_fully_planned_and_green(
    session: AsyncSession, settings: Settings, app: object, client: httpx.AsyncClient
) -> None:
    stream, _ = await seed(session, settings)
    again, _ = await seed(session, settings)  # a second run still yields a green stream
    await session.commit()
    assert stream.status == StreamStatus.scheduled
    for s in (stream, again):
        findings = await readiness_service.readiness(session, s)
        assert findings == [], findings
    # the whole plan is visible through the API to the admin
    admin = bearer(await login(client, "admin", TEST_PASSWORD))
    sid = stream.id
    body = (await client.get(f"/api/v1/streams/{sid}/readiness", headers=admin)).json()
    assert body == {"ready": True, "findings": []}
    lineup = (await client.get(f"/api/v1/streams/{sid}/lineup", headers=admin)).json()
    assert len(lineup) == 5 and any("口红" in i["name"] for i in lineup)
    # the first product is on sale and explained from the start: the simulated audience
    # has something to buy right after go-live
    first = min(lineup, key=lambda i: i["position"])
    assert first["status"] == "listed" and first["explaining"] is True
    assert [i["status"] for i in lineup].count("listed") == 1
    # the service console starts with quick replies, filled for the item's product
    replies = (
        await client.get(
            f"/api/v1/streams/{sid}/quick-replies?product_id={first['product_id']}", headers=admin
        )
    ).json()
    assert len(replies) >= 5 and any(first["name"] in r["rendered"] for r in replies)
    script = (await client.get(f"/api/v1/streams/{sid}/script", headers=admin)).json()
    assert script["span_seconds"] == 7200 and script["gaps"] == [] and script["overlaps"] == []
    kinds = {s["kind"] for s in script["segments"]}
    assert kinds == {"opening", "product", "interaction", "promotion", "closing"}
    team = (await client.get(f"/api/v1/streams/{sid}/team", headers=admin)).json()
    assert {m["role"] for m in team} == {"host", "controller", "service", "analyst"}
    checklist = (await client.get(f"/api/v1/streams/{sid}/checklist", headers=admin)).json()
    assert checklist["complete"] is True
    assert (
        len((await client.get(f"/api/v1/streams/{sid}/contingency-plans", headers=admin)).json())
        == 5
    )
    assert len((await client.get(f"/api/v1/streams/{sid}/warmups", headers=admin)).json()) == 3
    r = await client.post(f"/api/v1/streams/{sid}/go-live", headers=admin)
    assert r.status_code == 200 and r.json()["forced"] is False


def test_demo_command_on_a_fresh_embedded_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(tmp_path / "data"), SECRET_KEY="demo-test-secret-0123456789abcdef")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ready to go live: True" in result.stdout, result.stdout
    assert "controller" in result.stdout and "host" in result.stdout
    assert "controlroom simulate" in result.stdout and "--key lcr" in result.stdout.lower()
